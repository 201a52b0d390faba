"""The job model: how a trace job's byte counts become YARN containers and container-seconds.

A SWIM trace gives sizes only, so the containers are a model (defaults in `JobModel`, documented in
docs/simulator.md):

- maps: one per `split_bytes` of map input (HDFS block, 128 MiB), at least one;
- reduces: none when the job shuffles nothing, else one per `bytes_per_reduce` of shuffle (Hive's
  `hive.exec.reducers.bytes.per.reducer` idea), at least one, at most `max_reduces`;
- a container runs for `startup_s` (JVM start, localization) plus its share of bytes over a throughput:
  a map reads its split at `map_mb_per_s`; a reduce reads its shuffle share and writes its output share
  at `reduce_mb_per_s`; all containers of a phase are the same length;
- the reduces start when every map has finished (MapReduce slow-start 1.0);
- container sizes are EMR's defaults for m5 instances (`mapreduce.map.memory.mb` 3072,
  `mapreduce.reduce.memory.mb` 6144), one vcore each;
- every job first runs one ApplicationMaster container (`yarn.app.mapreduce.am.resource.mb`, EMR's default
  for m5.2xlarge 6144 MB, 1 vcore), as every real YARN job does: the job's tasks are requested only once it
  runs, and it holds its room until the job ends. `am_memory_mb=0` leaves it out (the old model).

On an unconstrained cluster the AM and then every container of a phase start at once, so a job takes one map
wave plus one reduce wave: `Job.unconstrained_s`, its ideal runtime (the AM adds no time in this model).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from emr_autoscaler_dev.sim.trace import TraceJob

_MIB = 1 << 20


@dataclass(frozen=True, slots=True)
class JobModel:
    """JobModel holds the parameters that turn bytes into containers (sizes in bytes, memory in MB, time in s)."""

    split_bytes: int = 128 * _MIB
    bytes_per_reduce: int = 1024 * _MIB
    max_reduces: int = 1000
    startup_s: float = 4.0
    map_mb_per_s: float = 32.0
    reduce_mb_per_s: float = 16.0
    map_memory_mb: int = 3072
    reduce_memory_mb: int = 6144
    map_vcores: int = 1
    reduce_vcores: int = 1
    am_memory_mb: int = 6144
    am_vcores: int = 1
    scale: float = 1.0

    def __post_init__(self) -> None:
        if not self.scale > 0:
            raise ValueError(f"scale must be positive, not {self.scale}")
        if self.am_memory_mb < 0 or self.am_vcores < 0:
            raise ValueError("the ApplicationMaster's memory and vcores must be >= 0")

    def job(self, index: int, trace_job: TraceJob) -> Job:
        """Job turns one trace job into its container counts and per-container durations.

        `scale` multiplies every byte count first: SWIM's own way to fit a trace to a smaller cluster.
        """
        input_bytes = trace_job.input_bytes * self.scale
        shuffle_bytes = trace_job.shuffle_bytes * self.scale
        output_bytes = trace_job.output_bytes * self.scale
        maps = max(1, math.ceil(input_bytes / self.split_bytes))
        map_s = self.startup_s + input_bytes / maps / _MIB / self.map_mb_per_s
        reduces = 0
        reduce_s = 0.0
        if shuffle_bytes > 0:
            reduces = min(self.max_reduces, max(1, math.ceil(shuffle_bytes / self.bytes_per_reduce)))
            per_reduce = (shuffle_bytes + output_bytes) / reduces
            reduce_s = self.startup_s + per_reduce / _MIB / self.reduce_mb_per_s
        return Job(
            index=index,
            job_id=trace_job.job_id,
            submit_s=trace_job.submit_s,
            maps=maps,
            map_s=map_s,
            map_memory_mb=self.map_memory_mb,
            map_vcores=self.map_vcores,
            reduces=reduces,
            reduce_s=reduce_s,
            reduce_memory_mb=self.reduce_memory_mb,
            reduce_vcores=self.reduce_vcores,
            am_memory_mb=self.am_memory_mb,
            am_vcores=self.am_vcores if self.am_memory_mb else 0,
        )

    def jobs(self, trace: Iterable[TraceJob]) -> list[Job]:
        """Jobs models every job of a trace, in submit order (index = position)."""
        return [self.job(index, trace_job) for index, trace_job in enumerate(trace)]


@dataclass(frozen=True, slots=True)
class Job:
    """Job is one modelled MapReduce job: container counts, durations (s), sizes (MB, vcores)."""

    index: int
    job_id: str
    submit_s: float
    maps: int
    map_s: float
    map_memory_mb: int
    map_vcores: int
    reduces: int
    reduce_s: float
    reduce_memory_mb: int
    reduce_vcores: int
    am_memory_mb: int = 0
    am_vcores: int = 0

    @property
    def unconstrained_s(self) -> float:
        """Unconstrained_s is the job's run time when every container starts at once: one wave per phase (s)."""
        return self.map_s + self.reduce_s

    @property
    def task_mb_s(self) -> float:
        """Task_mb_s is the memory-time of the job's maps and reduces (MB·s), its AM left out."""
        return self.maps * self.map_s * self.map_memory_mb + self.reduces * self.reduce_s * self.reduce_memory_mb

    @property
    def container_mb_s(self) -> float:
        """Container_mb_s is the job's least YARN memory-time (MB·s): its tasks, and its AM over the ideal runtime."""
        return self.task_mb_s + self.am_memory_mb * self.unconstrained_s

    @property
    def container_vcore_s(self) -> float:
        """Container_vcore_s is the job's least YARN vcore-time (vcore·s), counted as `container_mb_s` is."""
        tasks = self.maps * self.map_s * self.map_vcores + self.reduces * self.reduce_s * self.reduce_vcores
        return tasks + self.am_vcores * self.unconstrained_s

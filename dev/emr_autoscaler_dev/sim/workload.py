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
  `mapreduce.reduce.memory.mb` 6144), one vcore each. ApplicationMasters are not modelled.

On an unconstrained cluster every container of a phase starts at once, so a job takes one map wave plus one
reduce wave: `Job.unconstrained_s`, the denominator of the slowdown.
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

    def job(self, index: int, trace_job: TraceJob) -> Job:
        """Job turns one trace job into its container counts and per-container durations."""
        maps = max(1, math.ceil(trace_job.input_bytes / self.split_bytes))
        map_s = self.startup_s + trace_job.input_bytes / maps / _MIB / self.map_mb_per_s
        reduces = 0
        reduce_s = 0.0
        if trace_job.shuffle_bytes > 0:
            reduces = min(self.max_reduces, max(1, math.ceil(trace_job.shuffle_bytes / self.bytes_per_reduce)))
            per_reduce = (trace_job.shuffle_bytes + trace_job.output_bytes) / reduces
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

    @property
    def unconstrained_s(self) -> float:
        """Unconstrained_s is the job's run time when every container starts at once: one wave per phase (s)."""
        return self.map_s + self.reduce_s

    @property
    def container_mb_s(self) -> float:
        """Container_mb_s is the job's total YARN memory-time (MB·s), the work a cluster must supply."""
        return self.maps * self.map_s * self.map_memory_mb + self.reduces * self.reduce_s * self.reduce_memory_mb

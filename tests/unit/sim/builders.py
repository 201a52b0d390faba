"""Builders for the simulator tests: the bundled trace, small hand-made jobs and clusters."""

from __future__ import annotations

import random
from pathlib import Path

from emr_autoscaler.kernel.config.scaling import NodeCapacity
from emr_autoscaler_dev.sim.cluster import ClusterSpec, SimCluster
from emr_autoscaler_dev.sim.trace import TraceJob
from emr_autoscaler_dev.sim.workload import Job, JobModel

REPO = Path(__file__).resolve().parents[3]
FB_TRACE = REPO / "data" / "traces" / "FB-2009_samples_24_times_1hr_0.tsv"
MIB = 1 << 20
# One node holds four 3072 MB maps or two 6144 MB reduces.
SMALL_NODE = NodeCapacity(memory_mb=12288, vcores=4)


def trace_job(submit_s: float, input_mib: int = 128, shuffle_mib: int = 0, output_mib: int = 0) -> TraceJob:
    """Trace_job makes one trace job with sizes in MiB."""
    return TraceJob(
        job_id=f"job{submit_s:g}",
        submit_s=submit_s,
        input_bytes=input_mib * MIB,
        shuffle_bytes=shuffle_mib * MIB,
        output_bytes=output_mib * MIB,
    )


def job(index: int = 0, submit_s: float = 0.0, maps: int = 4, map_s: float = 100.0, reduces: int = 0) -> Job:
    """Job makes a modelled job directly: `maps` maps of `map_s` s, `reduces` reduces of 50 s."""
    model = JobModel()
    return Job(
        index=index,
        job_id=f"job{index}",
        submit_s=submit_s,
        maps=maps,
        map_s=map_s,
        map_memory_mb=model.map_memory_mb,
        map_vcores=1,
        reduces=reduces,
        reduce_s=50.0 if reduces else 0.0,
        reduce_memory_mb=model.reduce_memory_mb,
        reduce_vcores=1,
    )


def cluster(core: int = 1, task: int = 0, start_delay_s: float = 360.0, jitter_s: float = 0.0) -> SimCluster:
    """Cluster makes a simulated cluster of SMALL_NODE nodes, all running at time 0."""
    spec = ClusterSpec(
        instance_type="m5.xlarge",
        core_nodes=core,
        task_nodes=task,
        start_delay_s=start_delay_s,
        start_jitter_s=jitter_s,
        node_capacity=SMALL_NODE,
    )
    return SimCluster(spec, random.Random(0), (3072, 1))

"""The job model: bytes become map and reduce containers, with durations that grow with the data."""

from __future__ import annotations

from emr_autoscaler_dev.sim.workload import JobModel
from tests.unit.sim.builders import MIB, trace_job


def test_one_map_per_split_and_at_least_one() -> None:
    # GIVEN the default model (128 MiB splits)
    model = JobModel()

    # WHEN jobs of 0 bytes, one split and a bit more than two splits are modelled
    empty, one, three = (model.job(0, trace_job(0, input_mib=m)) for m in (0, 128, 257))

    # THEN they get 1, 1 and 3 maps
    assert (empty.maps, one.maps, three.maps) == (1, 1, 3)


def test_no_shuffle_means_no_reduce() -> None:
    # GIVEN a map-only job
    # WHEN modelled
    job = JobModel().job(0, trace_job(0, input_mib=512, shuffle_mib=0, output_mib=10))

    # THEN it has no reduce phase and runs one map wave unconstrained
    assert job.reduces == 0
    assert job.unconstrained_s == job.map_s


def test_reduces_follow_the_shuffle_up_to_the_cap() -> None:
    # GIVEN a model with 1 GiB per reduce and at most 4 reduces
    model = JobModel(bytes_per_reduce=1024 * MIB, max_reduces=4)

    # WHEN a small and a huge shuffle are modelled
    small = model.job(0, trace_job(0, shuffle_mib=1))
    huge = model.job(1, trace_job(0, shuffle_mib=100 * 1024))

    # THEN the small gets one reduce, the huge the cap, each of its reduces running longer
    assert (small.reduces, huge.reduces) == (1, 4)
    assert huge.reduce_s > small.reduce_s
    assert huge.unconstrained_s == huge.map_s + huge.reduce_s


def test_durations_grow_with_bytes_and_start_at_the_startup_time() -> None:
    # GIVEN the default model
    model = JobModel()

    # WHEN a tiny and a one-split job are modelled
    tiny = model.job(0, trace_job(0, input_mib=0))
    full = model.job(1, trace_job(0, input_mib=128))

    # THEN a map costs at least its startup, and more with its data
    assert tiny.map_s == model.startup_s
    assert full.map_s > tiny.map_s
    assert full.container_mb_s > tiny.container_mb_s

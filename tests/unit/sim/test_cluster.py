"""The simulated cluster: containers fill free room, nodes start late, shrinks drain gracefully."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest

from emr_autoscaler.kernel.config.scaling import NodeCapacity
from emr_autoscaler_dev.sim import cluster as cluster_module
from emr_autoscaler_dev.sim.cluster import ClusterSpec, NodeState, SimCluster
from emr_autoscaler_dev.sim.metrics import resourcemanager_metrics
from emr_autoscaler_dev.sim.workload import Job
from tests.unit.sim.builders import SMALL_NODE, cluster, job


def test_containers_fill_free_room_and_the_rest_wait() -> None:
    # GIVEN one node that holds four maps, and a job of six
    sim = cluster(core=1)
    sim.submit(job(maps=6))

    # WHEN allocated
    sim.allocate(0.0)

    # THEN four run, two are pending, and the ResourceManager view adds up
    assert (sim.containers_allocated, sim.containers_pending) == (4, 2)
    metrics = resourcemanager_metrics(sim, 0.0)
    assert metrics.allocated_memory_mb + metrics.available_memory_mb == metrics.total_memory_mb
    assert metrics.pending_memory_mb == 2 * 3072


def test_pending_containers_start_when_room_frees_and_reduces_follow_maps() -> None:
    # GIVEN a job of six maps and one reduce on a four-map node
    sim = cluster(core=1)
    sim.submit(job(maps=6, map_s=100.0, reduces=1))
    sim.allocate(0.0)

    # WHEN the first wave ends, then the second
    sim.advance(100.0)
    sim.allocate(100.0)
    first = (sim.containers_allocated, sim.containers_pending)
    sim.advance(200.0)
    sim.allocate(200.0)
    sim.advance(250.0)

    # THEN the second wave ran, then the reduce, then the job finished
    assert first == (2, 0)
    assert sim.finished_s == {0: 250.0}


def test_advancing_to_the_end_of_time_handles_every_event_and_stops() -> None:
    # GIVEN a job running, its containers' ends queued
    sim = cluster(core=1)
    sim.submit(job(maps=2, map_s=100.0))
    sim.allocate(0.0)

    # WHEN time advances past every event at once
    sim.advance(math.inf)

    # THEN every queued event was handled and the queue is empty (no read past its end)
    assert sim.finished_s == {0: 100.0}
    assert not sim.events
    assert sim.next_event_s is None


def test_a_new_node_joins_after_the_start_delay() -> None:
    # GIVEN a cluster asked for one more TASK node
    sim = cluster(core=1, start_delay_s=300.0)
    sim.resize(sim.task, 1, 3600.0, 0.0)

    # WHEN time passes to just before, then to the start delay
    sim.advance(299.0)
    before = sim.task.running_count
    sim.advance(300.0)

    # THEN the node runs only after the delay, and was billed from the request
    assert (before, sim.task.running_count) == (0, 1)
    assert sim.task.settled
    assert sim.node_seconds(600.0) == 600.0 + 600.0


def test_a_shrink_cancels_starting_nodes_first() -> None:
    # GIVEN a TASK group with one running node and one starting
    sim = cluster(core=1, task=1)
    sim.resize(sim.task, 2, 3600.0, 10.0)

    # WHEN it shrinks by one
    sim.resize(sim.task, 1, 3600.0, 20.0)

    # THEN the starting node is cancelled and the running one stays
    assert [n.state for n in sim.task.nodes] == [NodeState.RUNNING]
    assert sim.task.settled


def test_a_draining_node_keeps_its_containers_and_leaves_when_they_end() -> None:
    # GIVEN a busy TASK node
    sim = cluster(core=0, task=1)
    sim.submit(job(maps=2, map_s=100.0))
    sim.allocate(0.0)

    # WHEN the group shrinks to zero
    sim.resize(sim.task, 0, 3600.0, 10.0)
    draining = (sim.task.running_count, sim.task.settled, sim.containers_allocated)
    sim.advance(100.0)

    # THEN the node drains (group not settled) until its containers end, then is gone
    assert draining == (1, False, 2)
    assert sim.task.nodes == []
    assert sim.task.settled
    assert sim.finished_s == {0: 100.0}


def test_the_decommission_timeout_kills_and_requeues_containers() -> None:
    # GIVEN a TASK node running maps of 1000 s
    sim = cluster(core=0, task=1)
    sim.submit(job(maps=2, map_s=1000.0))
    sim.allocate(0.0)

    # WHEN it is decommissioned with a 60 s timeout
    sim.resize(sim.task, 0, 60.0, 0.0)
    sim.advance(60.0)

    # THEN the node is gone and its containers wait again, nothing finished
    assert sim.task.nodes == []
    assert (sim.containers_pending, sim.killed_containers, sim.containers_allocated) == (2, 2, 0)
    assert sim.finished_s == {}


def _with_am(index: int, maps: int = 2, am_memory_mb: int = 6144) -> Job:
    return replace(job(index=index, maps=maps, map_s=100.0), am_memory_mb=am_memory_mb, am_vcores=1)


def test_a_job_runs_its_application_master_first_and_frees_it_when_it_ends() -> None:
    # GIVEN a job with a 6144 MB AM and two 3072 MB maps on an empty 12288 MB node
    sim = cluster(core=1)
    sim.submit(_with_am(0))

    # WHEN allocated, then the maps end
    sim.allocate(0.0)
    running = (sim.containers_allocated, sim.allocated_mb, sim.apps_running)
    sim.advance(100.0)

    # THEN the AM and then, in the same instant, both maps ran; the job's end freed the AM's room too
    assert running == (3, 6144 + 2 * 3072, 1)
    assert sim.finished_s == {0: 100.0}
    assert (sim.containers_allocated, sim.allocated_mb, sim.am_mb) == (0, 0, 0)


def test_application_masters_hold_at_most_their_share_of_memory() -> None:
    # GIVEN two 12288 MB nodes (AM share 0.5: 12288 MB, two 6144 MB AMs) and four jobs
    sim = cluster(core=2)
    for index in range(4):
        sim.submit(_with_am(index, maps=1))

    # WHEN allocated
    sim.allocate(0.0)

    # THEN two AMs run and their maps with them; the other two jobs wait for AM room, not for their tasks
    assert sim.am_mb == 2 * 6144
    assert (sim.apps_running, sim.apps_pending) == (2, 2)
    assert (len(sim.pending_am), len(sim.pending)) == (2, 0)


def test_small_application_masters_keep_to_their_share_of_vcores_too() -> None:
    # GIVEN a 12,288 MB, 4-vcore node and six jobs whose 1,024 MB AMs would fit six times in half its memory
    sim = cluster(core=1)
    for i in range(6):
        sim.submit(_with_am(i, maps=1, am_memory_mb=1024))

    # WHEN allocated
    sim.allocate(0.0)

    # THEN only two AMs run (half of the 4 vcores), so their maps still find vcores, and every job finishes
    assert (sim.apps_running, sim.am_vcores) == (2, 2)
    assert sim.containers_allocated > sim.apps_running
    while sim.events:
        now = sim.events.head_s()
        sim.advance(now)
        sim.allocate(now)
    assert sorted(sim.finished_s) == list(range(6))


def test_one_application_master_always_may_run() -> None:
    # GIVEN a node whose whole memory is one AM's (the share limit alone would admit none)
    sim = cluster(core=1)
    sim.submit(_with_am(0, maps=1, am_memory_mb=9216))

    # WHEN allocated
    sim.allocate(0.0)

    # THEN the AM runs anyway, so the job can progress
    assert sim.apps_running == 1


def _finish_times(monkeypatch: pytest.MonkeyPatch, heap_above: int, scheduler: str, *, ams: bool) -> dict[int, float]:
    monkeypatch.setattr(cluster_module, "HEAP_ABOVE", heap_above)
    # Three nodes where memory binds, as on EMR's m5 types (4 maps of 3,072 MB fill one; 8 vcores do not).
    node = NodeCapacity(memory_mb=12288, vcores=8)
    spec = ClusterSpec(instance_type="m5.xlarge", core_nodes=3, task_nodes=0, node_capacity=node, scheduler=scheduler)
    sim = SimCluster(spec, random.Random(3), (2048, 1))
    rng = random.Random(7)
    # Many jobs of mixed sizes: far more requests wait than HEAP_ABOVE, and usage keeps changing. Without AMs they
    # arrive together; with AMs (2 GB, 1 vcore) they trickle in, and waiting AMs merge with waiting tasks in a pass.
    jobs = [
        replace(
            job(index=i, maps=rng.randint(1, 9), map_s=rng.uniform(5, 60), reduces=rng.randint(0, 2)),
            submit_s=i * 2.0 if ams else 0.0,
            am_memory_mb=2048 if ams else 0,
            am_vcores=1,
        )
        for i in range(400)
    ]
    arrivals = iter(jobs)
    arrival = next(arrivals, None)
    now = 0.0
    while arrival is not None or sim.events:
        now = min(sim.events.head_s(), arrival.submit_s if arrival is not None else math.inf)
        sim.advance(now)
        while arrival is not None and arrival.submit_s <= now:
            sim.submit(arrival)
            arrival = next(arrivals, None)
        if sim.dirty:
            sim.allocate(now)
    return sim.finished_s


@pytest.mark.parametrize("ams", [False, True])
@pytest.mark.parametrize("scheduler", ["fair", "fifo"])
def test_the_queue_of_many_waiting_requests_places_exactly_as_sorting_them_does(
    monkeypatch: pytest.MonkeyPatch, scheduler: str, *, ams: bool
) -> None:
    # GIVEN 400 jobs waiting on three small nodes, scheduled once by sorting every request at every pass
    sorted_every_pass = _finish_times(monkeypatch, 10**9, scheduler, ams=ams)

    # WHEN the same run keeps its waiting tasks in per-size heaps instead (merged with the waiting AMs)
    with_heaps = _finish_times(monkeypatch, 8, scheduler, ams=ams)

    # THEN every job finishes at the same instant
    assert len(with_heaps) == 400
    assert with_heaps == sorted_every_pass


def test_growing_a_group_takes_back_its_draining_nodes_first() -> None:
    # GIVEN two busy TASK nodes draining after a shrink to 0
    sim = cluster(core=1, task=2, start_delay_s=300.0)
    sim.submit(job(maps=12, map_s=1000.0))
    sim.allocate(0.0)
    sim.resize(sim.task, 0, 3600.0, 10.0)
    draining = [n for n in sim.task.nodes if n.state is NodeState.DRAINING]

    # WHEN the group is grown to 3 before they are gone
    sim.resize(sim.task, 3, 3600.0, 20.0)

    # THEN both run again at once (their containers kept), one new node starts, and the old drain deadline is void
    assert len(draining) == 2
    assert all(n.state is NodeState.RUNNING for n in draining)
    assert sim.task.starting == 1
    sim.advance(3610.0)
    assert sim.killed_containers == 0
    assert sim.task.running_count == 3


def test_with_ams_pinned_to_core_an_am_waits_for_a_core_node_whatever_room_task_has() -> None:
    # GIVEN one CORE and one TASK node, AMs pinned to CORE, and the CORE node (the oldest) full of four maps
    spec = replace(cluster(core=1, task=1).spec, am_label="CORE")
    sim = SimCluster(spec, random.Random(0), (3072, 1))
    sim.submit(job(index=0, maps=4, map_s=100.0))
    sim.allocate(0.0)
    assert (sim.core.nodes[0].free_mb, sim.task.nodes[0].free_mb) == (0, SMALL_NODE.memory_mb)

    # WHEN a job with an AM arrives while the TASK node is empty
    sim.submit(_with_am(1, maps=1, am_memory_mb=3072))
    sim.allocate(1.0)

    # THEN its AM waits for CORE room: the RM reports it in the CORE partition, not in the default one
    assert sim.pending_am_mb == 3072
    assert not sim.task.nodes[0].batches
    metrics = resourcemanager_metrics(sim, 1.0)
    assert (metrics.am_pending_memory_mb, metrics.apps_pending, metrics.pending_memory_mb) == (3072, 1, 0)
    # ... and once the first job's maps end, the AM starts on the CORE node
    sim.advance(100.0)
    sim.allocate(100.0)
    assert sim.pending_am_mb == 0
    assert any(b.phase == cluster_module.AM for b in sim.core.nodes[0].batches)


def test_without_a_label_an_am_takes_any_node_with_room() -> None:
    # GIVEN the same cluster without node labels, its CORE node full
    sim = cluster(core=1, task=1)
    sim.submit(job(index=0, maps=4, map_s=100.0))
    sim.allocate(0.0)

    # WHEN a job with an AM arrives
    sim.submit(_with_am(1, maps=1, am_memory_mb=3072))
    sim.allocate(1.0)

    # THEN its AM runs at once, wherever there is room
    assert sim.pending_am_mb == 0
    assert resourcemanager_metrics(sim, 1.0).am_pending_memory_mb is None

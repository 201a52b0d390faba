"""The simulated cluster: containers fill free room, nodes start late, shrinks drain gracefully."""

from __future__ import annotations

from emr_autoscaler_dev.sim.cluster import NodeState
from emr_autoscaler_dev.sim.metrics import resourcemanager_metrics
from tests.unit.sim.builders import cluster, job


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

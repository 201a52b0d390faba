"""The baselines and the adapter around our core, each on a hand-made cluster state."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from emr_autoscaler.kernel.config.scaling import GroupLimits, GroupsConfig, ScalingPolicy
from emr_autoscaler.scaling.domain.decisions import ReasonCode
from emr_autoscaler_dev.sim.cluster import SimCluster
from emr_autoscaler_dev.sim.metrics import CloudWatchFeed, Datapoint, at
from emr_autoscaler_dev.sim.policies.autoscaler import AutoscalerPolicy
from emr_autoscaler_dev.sim.policies.base import Bounds
from emr_autoscaler_dev.sim.policies.clairvoyant import ClairvoyantPolicy
from emr_autoscaler_dev.sim.policies.custom import EmrCustomPolicy
from emr_autoscaler_dev.sim.policies.managed import VARIANTS, ManagedLikePolicy, ManagedVariant, pick_headline
from emr_autoscaler_dev.sim.policies.static import StaticPolicy
from tests.unit.sim.builders import SMALL_NODE, cluster, job

BOUNDS = Bounds(core_min=1, core_max=1, task_min=0, task_max=10)


def test_static_keeps_its_size() -> None:
    # GIVEN a static policy of 5 nodes on a busy cluster
    policy = StaticPolicy(5)
    sim = cluster(core=1, task=4)
    sim.submit(job(maps=100))
    sim.allocate(0.0)

    # WHEN asked, at any time
    resizes = [policy.decide(sim, CloudWatchFeed(), t) for t in (0.0, 60.0, 600.0, 86_400.0)]

    # THEN it starts at its size and never resizes
    assert policy.initial_counts(BOUNDS) == (1, 4)
    assert resizes == [[], [], [], []]


def _saturated_feed() -> tuple[SimCluster, CloudWatchFeed]:
    sim = cluster(core=1)
    sim.submit(job(maps=40, map_s=10_000.0))
    sim.allocate(0.0)
    feed = CloudWatchFeed(period_s=300.0, delay_s=120.0)
    for minute in range(6):
        feed.sample(sim, minute * 60.0)
    return sim, feed


def test_custom_policy_adds_one_node_when_yarn_memory_runs_out_once_the_datapoint_is_visible() -> None:
    # GIVEN a full cluster (no YARN memory available) and its first 5-minute datapoint, visible at 420 s
    sim, feed = _saturated_feed()
    policy = EmrCustomPolicy(BOUNDS)

    # WHEN evaluated before and after the datapoint is visible
    early = policy.decide(sim, feed, 400.0)
    late = policy.decide(sim, feed, 420.0)

    # THEN it waits for CloudWatch, then adds exactly one TASK node
    assert early == []
    assert [(r.group.name, r.to_count) for r in late] == [("Task", 1)]


def test_custom_policy_removes_one_node_when_memory_is_mostly_free_and_respects_cooldown() -> None:
    # GIVEN an idle cluster with two TASK nodes, and its 5-minute datapoints visible at 420, 720 and 1020 s
    sim = cluster(core=1, task=2)
    feed = CloudWatchFeed()
    for minute in range(16):
        feed.sample(sim, minute * 60.0)
    policy = EmrCustomPolicy(BOUNDS)

    # WHEN the first datapoint is seen and the group shrinks and settles, then the second datapoint arrives inside
    # the 300 s cooldown, then the third after it
    first = policy.decide(sim, feed, 420.0)
    sim.resize(first[0].group, first[0].to_count, first[0].decommission_timeout_s, 420.0)
    policy.decide(sim, feed, 480.0)  # the activity completed: the cooldown starts now, until 780 s
    during = policy.decide(sim, feed, 720.0)
    after = policy.decide(sim, feed, 1020.0)

    # THEN it removed one node, held on the (still idle) datapoint seen during the cooldown, and removed the next
    # node on the first datapoint after it
    assert [(r.group.name, r.to_count) for r in first] == [("Task", 1)]
    assert policy.cooldown_until_s == 780.0
    assert during == []
    held_on = policy.seen[1]
    assert held_on.visible_s == 720.0
    assert held_on.yarn_memory_available_pct > 75.0  # the scale-in rule fired on it: only the cooldown held
    assert [(r.group.name, r.to_count) for r in after] == [("Task", 0)]


def test_managed_like_scales_out_to_the_demand_at_once() -> None:
    # GIVEN one node's room and 40 maps (ten nodes' worth) waiting
    sim = cluster(core=1)
    sim.submit(job(maps=40))
    sim.allocate(0.0)
    policy = ManagedLikePolicy(BOUNDS)

    # WHEN evaluated
    resizes = policy.decide(sim, CloudWatchFeed(), 10.0)

    # THEN it asks for the nine missing TASK nodes in one action (CORE is fixed)
    assert [(r.group.name, r.to_count) for r in resizes] == [("Task", 9)]


def test_managed_like_grows_core_first_when_core_may_scale() -> None:
    # GIVEN a scalable CORE group and demand for three nodes
    bounds = Bounds(core_min=1, core_max=2, task_min=0, task_max=10)
    sim = cluster(core=1)
    sim.submit(job(maps=12))
    sim.allocate(0.0)

    # WHEN evaluated
    resizes = ManagedLikePolicy(bounds).decide(sim, CloudWatchFeed(), 10.0)

    # THEN CORE grows to its max first, TASK takes the rest
    assert sorted((r.group.name, r.to_count) for r in resizes) == [("Core", 2), ("Task", 1)]


def test_managed_like_shrinks_only_after_the_target_held_low() -> None:
    # GIVEN an idle cluster with three TASK nodes
    sim = cluster(core=1, task=3)
    policy = ManagedLikePolicy(BOUNDS, scale_in_after_s=60.0)

    # WHEN evaluated at 0 s, then 60 s later
    first = policy.decide(sim, CloudWatchFeed(), 0.0)
    later = policy.decide(sim, CloudWatchFeed(), 60.0)

    # THEN it waited, then removed the TASK nodes
    assert first == []
    assert [(r.group.name, r.to_count) for r in later] == [("Task", 0)]


def test_clairvoyant_asks_now_for_what_the_coming_start_delay_needs() -> None:
    # GIVEN a schedule (per 10 s) that needs 6 nodes from 60 s on, and a 30 s lookahead
    schedule = [1] * 6 + [6] * 6
    clairvoyant = ClairvoyantPolicy(BOUNDS, schedule, lookahead_s=30.0, interval_s=10.0)

    # WHEN asked at 20 s (60 s is beyond reach) and at 30 s (60 s is within reach)
    # THEN it starts the nodes exactly one lookahead ahead
    assert (clairvoyant.target(20.0), clairvoyant.target(30.0)) == (1, 6)
    sim = cluster(core=1)
    assert [(r.group.name, r.to_count) for r in clairvoyant.decide(sim, CloudWatchFeed(), 30.0)] == [("Task", 5)]


def test_clairvoyant_cap_and_headroom_scale_the_schedule_down() -> None:
    # GIVEN a schedule needing 9 nodes, capped at 5, and one provisioning half of it
    schedule = [9] * 10
    capped = ClairvoyantPolicy(BOUNDS, schedule, lookahead_s=30.0, cap_nodes=5)
    halved = ClairvoyantPolicy(BOUNDS, schedule, lookahead_s=30.0, headroom=0.5)

    # WHEN asked  THEN the cap bounds it and the headroom rounds half of 9 up
    assert (capped.target(0.0), halved.target(0.0)) == (5, 5)


def test_autoscaler_drives_the_core_to_scale_out_on_pending_demand() -> None:
    # GIVEN our default policy and 40 maps waiting on one node (four run, 36 wait)
    sim = cluster(core=1)
    sim.submit(job(maps=40))
    sim.allocate(0.0)
    policy = AutoscalerPolicy(
        ScalingPolicy(groups=GroupsConfig(core=GroupLimits(min_nodes=1, max_nodes=1, scalable=False)))
    )
    # The nodes the waiting containers need: their memory and vcores over one node's, whichever binds (nine).
    pending = sim.containers_pending
    needed = max(
        math.ceil(pending * job().map_memory_mb / SMALL_NODE.memory_mb), math.ceil(pending / SMALL_NODE.vcores)
    )

    # WHEN evaluated
    resizes = policy.decide(sim, CloudWatchFeed(), 60.0)

    # THEN the core grew TASK from zero by exactly the nodes the demand needs (within the step budget and the
    # group's max), and its state moved forward
    assert (pending, needed) == (36, 9)
    assert [(r.group.name, r.to_count) for r in resizes] == [("Task", needed)]
    assert policy.reasons[ReasonCode.SCALE_OUT_PENDING_DEMAND] == 1
    assert policy.state.version == 1
    assert policy.state.last_scale_out_at == at(60.0)


def test_autoscaler_counts_nodes_still_starting_as_capacity_coming_and_adds_only_the_rest() -> None:
    # GIVEN a TASK node still starting and demand pending for far more than one node
    sim = cluster(core=1)
    sim.resize(sim.task, 1, 3600.0, 0.0)
    sim.submit(job(maps=40))
    sim.allocate(0.0)
    policy = AutoscalerPolicy(ScalingPolicy())
    pending_nodes = -(-sim.pending_mb // sim.capacity.memory_mb)

    # WHEN evaluated while that node starts
    resizes = policy.decide(sim, CloudWatchFeed(), 60.0)

    # THEN the core raises the resizing group's target, counting the starting node as coming
    assert policy.reasons[ReasonCode.SCALE_OUT_PENDING_DEMAND] == 1
    assert [(r.group.name, r.to_count) for r in resizes] == [("Task", pending_nodes)]


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_each_managed_like_variant_evaluates_at_its_cadence_and_holds_as_long_as_its_name_says(
    variant: ManagedVariant,
) -> None:
    # GIVEN an idle cluster with three TASK nodes under the variant
    sim = cluster(core=1, task=3)
    policy = ManagedLikePolicy.of(BOUNDS, variant)
    hold = variant.scale_in_after_s
    step = variant.interval_s

    # WHEN evaluated at its cadence from 0 s, the last evaluation before the hold has passed, and the first after
    first = policy.decide(sim, CloudWatchFeed(), 0.0)
    just_before = policy.decide(sim, CloudWatchFeed(), hold - step)
    at_hold = policy.decide(sim, CloudWatchFeed(), hold)

    # THEN its name states its settings, the engine calls it every `interval_s`, and it shrinks only once the
    # target stayed low for the whole hold
    assert policy.name == f"managed-like-{step:g}s-hold{hold:g}s"
    assert policy.interval_s == step
    assert (first, just_before) == ([], [])
    assert [(r.group.name, r.to_count) for r in at_hold] == [("Task", 0)]


def test_managed_like_with_a_step_size_moves_at_most_that_many_nodes() -> None:
    # GIVEN demand for ten nodes and a variant limited to 3 nodes per action
    sim = cluster(core=1)
    sim.submit(job(maps=40))
    sim.allocate(0.0)
    policy = ManagedLikePolicy.of(BOUNDS, ManagedVariant(10.0, 60.0, max_step_nodes=3))

    # WHEN evaluated
    resizes = policy.decide(sim, CloudWatchFeed(), 10.0)

    # THEN it grows by three, and says so in its name
    assert [(r.group.name, r.to_count) for r in resizes] == [("Task", 3)]
    assert policy.name.endswith("-step3")


@dataclass(frozen=True)
class _Row:
    name: str
    node_hours: float
    wait_p95_s: float


def test_the_headline_managed_like_is_the_best_p95_at_no_more_than_the_median_cost() -> None:
    # GIVEN six variants' rows (median cost 35): the best wait overall costs more than the median
    rows = [
        _Row("a", 20.0, 300.0),
        _Row("b", 30.0, 200.0),
        _Row("c", 34.0, 150.0),
        _Row("d", 36.0, 100.0),
        _Row("e", 50.0, 10.0),
        _Row("f", 60.0, 5.0),
    ]

    # WHEN the headline is picked  THEN it is the best p95 wait among those costing at most the median
    assert pick_headline(rows).name == "c"
    with pytest.raises(ValueError, match="no managed-like variant"):
        pick_headline([])


def _feed_with(point: Datapoint) -> CloudWatchFeed:
    feed = CloudWatchFeed()
    feed.published.append(point)
    return feed


def _point(available_pct: float, allocated: float, pending: float) -> Datapoint:
    total = 100_000.0
    return Datapoint(
        period_end_s=300.0,
        visible_s=420.0,
        apps_running=1.0,
        apps_pending=0.0,
        containers_allocated=allocated,
        containers_pending=pending,
        allocated_mb=total * (100.0 - available_pct) / 100.0,
        total_mb=total,
        hdfs_utilization_pct=30.0,
    )


@pytest.mark.parametrize(
    ("available_pct", "allocated", "pending", "to_count"),
    [
        (10.0, 10.0, 0.0, 2),  # Default-scale-out-1: YARNMemoryAvailablePercentage < 15 -> +1
        (40.0, 10.0, 8.0, 2),  # Default-scale-out-2: ContainerPendingRatio 0.8 > 0.75 -> +1, memory still free
        (40.0, 10.0, 7.0, None),  # ratio 0.7: no rule fires
        (80.0, 10.0, 0.0, 0),  # Default-scale-in: YARNMemoryAvailablePercentage > 75 -> -1
        (80.0, 10.0, 9.0, 2),  # both: the scale-out rule is checked first
    ],
)
def test_the_custom_policy_has_the_consoles_three_default_rules(
    available_pct: float, allocated: float, pending: float, to_count: int | None
) -> None:
    # GIVEN one TASK node and one visible datapoint
    sim = cluster(core=1, task=1)
    policy = EmrCustomPolicy(BOUNDS)

    # WHEN the datapoint is seen
    resizes = policy.decide(sim, _feed_with(_point(available_pct, allocated, pending)), 420.0)

    # THEN exactly the documented rule acts, by one instance
    assert [r.to_count for r in resizes] == ([] if to_count is None else [to_count])

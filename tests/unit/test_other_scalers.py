"""Other scalers, the pure core: who else resizes a cluster, the holds that follow, and `managed_scaling: tune`
turning a decision into the managed scaling policy's maximums (units converted honestly)."""

from __future__ import annotations

from typing import Any

import pytest

from emr_autoscaler.kernel.models import GroupState, ManagedScalingLimits, ManagedScalingUnit
from emr_autoscaler.scaling.domain.decisions import ManagedScalingMemory, ReasonCode, ResizePlan, ScalingState
from emr_autoscaler.scaling.domain.fleets import plan_fleet_resize
from emr_autoscaler.scaling.domain.other_scalers import (
    check_other_scalers,
    hold_other_scaler_unreadable,
    plan_tune,
)
from emr_autoscaler.scaling.domain.plan import plan_resize
from tests.unit.domain_builders import (
    CLUSTER_ID,
    CLUSTER_NAME,
    NODE_MB,
    NOW,
    UNIT_MB,
    core,
    fleet,
    fleet_snapshot,
    metrics,
    policy,
    snapshot,
    state,
    task,
)

TUNE = {"managed_scaling": "tune"}
# Pending demand for 5 more m5.xlarge nodes on a busy cluster: plan_resize grows Task 2 → 7.
BUSY = metrics(allocated_mb=4 * NODE_MB - 1024, allocated_vcores=12, pending_mb=5 * NODE_MB)


def managed(
    unit: ManagedScalingUnit = ManagedScalingUnit.INSTANCES, minimum: int = 2, maximum: int = 20, **caps: Any
) -> ManagedScalingLimits:
    """Managed is a managed scaling policy's limits."""
    return ManagedScalingLimits(unit_type=unit, minimum_units=minimum, maximum_units=maximum, **caps)


def _assert_sentence(plan: ResizePlan) -> None:
    sentence = plan.explanation
    assert sentence[0].isupper(), sentence
    assert sentence.endswith("."), sentence
    assert CLUSTER_ID in sentence, sentence
    assert repr(CLUSTER_NAME) in sentence, sentence


# --- who else resizes it ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cluster", "limits", "overrides", "names", "advice"),
    [
        pytest.param(
            snapshot(),
            managed(),
            {},
            ["EMR Managed Scaling (2..20 Instances)"],
            ["remove-managed-scaling-policy", "managed_scaling: tune"],
            id="managed scaling, default hold",
        ),
        pytest.param(
            snapshot(core(2), task(2, auto_scaling_policy="ATTACHED")),
            None,
            {},
            ["automatic scaling policy of group 'task-ig-TASK1' (ig-TASK1, ATTACHED)"],
            ["remove-auto-scaling-policy"],
            id="a TASK group's custom automatic scaling policy",
        ),
        pytest.param(
            snapshot(core(2), task(2, auto_scaling_policy="PENDING")),
            managed(),
            TUNE,
            ["EMR Managed Scaling", "automatic scaling policy of group"],
            ["remove-auto-scaling-policy", "remove-managed-scaling-policy"],
            id="both, tune cannot help with the group's policy",
        ),
        pytest.param(
            fleet_snapshot(),
            managed(ManagedScalingUnit.INSTANCE_FLEET_UNITS, 8, 80),
            {},
            ["EMR Managed Scaling (8..80 InstanceFleetUnits)"],
            ["managed_scaling: tune"],
            id="fleet cluster: managed scaling is the only other scaler",
        ),
        pytest.param(
            fleet_snapshot(),
            managed(ManagedScalingUnit.INSTANCES),
            TUNE,
            ["EMR Managed Scaling"],
            ["cannot convert", "managed_scaling: hold"],
            id="tune, but the units do not fit the cluster",
        ),
    ],
)
def test_another_scaler_holds_the_cluster_naming_it_and_what_to_do(
    cluster: Any, limits: ManagedScalingLimits | None, overrides: dict[str, Any], names: list[str], advice: list[str]
) -> None:
    # GIVEN a cluster another scaler resizes
    # WHEN checked
    plan = check_other_scalers(cluster, limits, policy(**overrides), state(), NOW)
    # THEN it holds with its own reason, naming the other scaler and what to do, and acts on nothing
    assert plan is not None
    assert plan.reason is ReasonCode.HOLD_OTHER_SCALER
    assert not plan.acts
    assert plan.commands == ()
    for text in names + advice:
        assert text in plan.explanation, plan.explanation
    assert [(c.name, c.passed) for c in plan.checks] == [
        ("opted_in", True),
        ("cluster_active", True),
        ("other_scalers", False),
    ]
    _assert_sentence(plan)


@pytest.mark.parametrize(
    ("cluster", "limits", "overrides"),
    [
        pytest.param(snapshot(), None, {}, id="nobody else"),
        pytest.param(snapshot(core(2), task(2, auto_scaling_policy="DETACHED")), None, {}, id="a detached policy"),
        pytest.param(snapshot(), managed(), TUNE, id="managed scaling, tuned"),
        pytest.param(
            fleet_snapshot(), managed(ManagedScalingUnit.INSTANCE_FLEET_UNITS, 8, 80), TUNE, id="fleet, tuned"
        ),
        pytest.param(snapshot(), managed(ManagedScalingUnit.VCPU, 8, 80), TUNE, id="vCPUs, tuned"),
    ],
)
def test_no_hold_without_another_scaler_or_when_tuning(
    cluster: Any, limits: ManagedScalingLimits | None, overrides: dict[str, Any]
) -> None:
    # GIVEN no other scaler, or managed scaling the profile tunes
    # WHEN checked, THEN the cluster is decided as usual
    assert check_other_scalers(cluster, limits, policy(**overrides), state(), NOW) is None


def test_an_unreadable_answer_holds() -> None:
    # GIVEN GetManagedScalingPolicy refused
    plan = hold_other_scaler_unreadable(snapshot(), state(), NOW, "GetManagedScalingPolicy refused: AccessDenied")
    # THEN the cluster holds, saying why, never acting
    assert plan.reason is ReasonCode.HOLD_OTHER_SCALER_UNREADABLE
    assert not plan.acts
    assert "(GetManagedScalingPolicy refused: AccessDenied)" in plan.explanation
    _assert_sentence(plan)


# --- managed_scaling: tune ----------------------------------------------------------------------------------------


def _tuned(limits: ManagedScalingLimits, memory: ScalingState | None = None, **overrides: Any) -> ResizePlan:
    """The decision on the default cluster (CORE 2, TASK 2) under BUSY load, tuned into `limits`."""
    scaling = policy(**(TUNE | overrides))
    before = memory or state()
    return plan_tune(plan_resize(snapshot(), BUSY, scaling, before, NOW), snapshot(), limits, scaling, before, NOW)


def test_tune_sets_the_maximum_to_the_capacity_decided_in_instances() -> None:
    # GIVEN a scale-out of Task 2 → 7 on a cluster of CORE 2 + TASK 2, managed scaling 2..20 instances
    plan = _tuned(managed())
    # THEN no group is resized: managed scaling's maximum becomes 2 + 7 = 9 instances
    assert plan.reason is ReasonCode.SCALE_MANAGED_SCALING_LIMITS
    assert plan.acts
    assert plan.commands == ()
    assert plan.managed_scaling is not None
    assert plan.managed_scaling.to_limits.maximum_units == 9
    assert plan.managed_scaling.to_limits.minimum_units == 2
    assert "max 20 → 9 Instances" in plan.explanation
    assert "task-ig-TASK1 2 → 7" in plan.explanation
    # AND the scale-out's cooldown starts, and the limits written are remembered with the team's
    assert plan.next_state.last_scale_out_at == NOW
    assert plan.next_state.managed_scaling == ManagedScalingMemory(
        written=plan.managed_scaling.to_limits, team=managed()
    )
    assert ("other_scalers", True) in [(c.name, c.passed) for c in plan.checks]
    _assert_sentence(plan)


def test_tune_counts_vcpus_of_the_instance_types() -> None:
    # GIVEN the policy counts vCPUs: an m5.xlarge node counts 4
    plan = _tuned(managed(ManagedScalingUnit.VCPU, minimum=8, maximum=80))
    # THEN (2 + 7) nodes × 4 vCPUs = 36
    assert plan.managed_scaling is not None
    assert plan.managed_scaling.to_limits.maximum_units == 36


def test_tune_on_vcpus_of_an_unknown_instance_type_holds() -> None:
    # GIVEN a group of a type whose vCPUs are unknown
    cluster = snapshot(core(2), task(2, instance_type="x9.mystery"))
    scaling = policy(**TUNE, node_capacity={"x9.mystery": {"memory_mb": NODE_MB, "vcores": 4}})
    decided = plan_resize(cluster, BUSY, scaling, state(), NOW)
    no_capacity = policy(**TUNE)
    # WHEN tuned without node_capacity for it
    plan = plan_tune(decided, cluster, managed(ManagedScalingUnit.VCPU, 8, 80), no_capacity, state(), NOW)
    # THEN it holds rather than guess
    assert plan.reason is ReasonCode.HOLD_NODE_CAPACITY_UNKNOWN
    assert not plan.acts
    assert "x9.mystery" in plan.explanation


@pytest.mark.parametrize(
    ("limits", "overrides", "maximum"),
    [
        pytest.param(managed(minimum=12, maximum=20), {}, 12, id="never below the policy's minimum"),
        pytest.param(managed(maximum=6), {}, 6, id="never above the team's maximum"),
        pytest.param(managed(maximum=50), {"groups": {"task": {"max_nodes": 4}}}, 6, id="never above the profile's"),
        pytest.param(managed(maximum=50), {}, 9, id="within both"),
    ],
)
def test_tune_keeps_the_maximum_within_the_limits(
    limits: ManagedScalingLimits, overrides: dict[str, Any], maximum: int
) -> None:
    # GIVEN limits that bound the capacity decided (9 instances)
    plan = _tuned(limits, **overrides)
    # THEN the new maximum is bounded, and the sentence says so
    if plan.managed_scaling is None:
        assert plan.reason is ReasonCode.HOLD_MANAGED_SCALING_TUNED
        assert limits.maximum_units == maximum
    else:
        assert plan.managed_scaling.to_limits.maximum_units == maximum
        assert ("kept within" in plan.explanation) is (plan.managed_scaling.desired_units != maximum)


def test_tune_caps_follow_the_maximum_down_and_back_up_to_the_teams() -> None:
    # GIVEN the team's policy: max 20, On-Demand ≤ 15, CORE ≤ 4; an idle cluster of CORE 2 + TASK 6 stabilized low
    team = managed(maximum_on_demand_units=15, maximum_core_units=4)
    cluster = snapshot(core(2), task(6))
    scaling = policy(**TUNE)
    before = state(low_utilization_since=NOW.replace(hour=11))
    idle = metrics(nodes=8)
    shrink = plan_resize(cluster, idle, scaling, before, NOW)
    # WHEN tuned: an idle cluster's TASK nodes go at once (TASK 0)
    down = plan_tune(shrink, cluster, team, scaling, before, NOW)
    assert down.managed_scaling is not None, down.explanation
    low = down.managed_scaling.to_limits
    # THEN the maximum falls to CORE 2 + TASK 0 = 2, and the caps with it (never above the maximum)
    assert (low.maximum_units, low.maximum_on_demand_units, low.maximum_core_units) == (2, 2, 2)
    # WHEN later a scale-out wants 9 again, on the policy as the scaler wrote it
    remembered = state(managed_scaling=down.next_state.managed_scaling)
    up = plan_tune(plan_resize(snapshot(), BUSY, scaling, remembered, NOW), snapshot(), low, scaling, remembered, NOW)
    # THEN the caps come back up as far as the team's values, not beyond
    assert up.managed_scaling is not None
    high = up.managed_scaling.to_limits
    assert (high.maximum_units, high.maximum_on_demand_units, high.maximum_core_units) == (9, 9, 4)


def test_a_policy_someone_else_changed_becomes_the_teams() -> None:
    # GIVEN the scaler wrote max 3 (the team's being 20), then the team set max 5 itself
    written = managed(maximum=3)
    remembered = state(managed_scaling=ManagedScalingMemory(written=written, team=managed(maximum=20)))
    # WHEN a scale-out wants 9
    plan = _tuned(managed(maximum=5), memory=remembered)
    # THEN the team's new maximum bounds it: nothing to raise
    assert plan.reason is ReasonCode.HOLD_MANAGED_SCALING_TUNED, plan.explanation
    # AND with the policy as the scaler wrote it, the remembered team maximum applies
    raised = _tuned(written, memory=remembered)
    assert raised.managed_scaling is not None
    assert raised.managed_scaling.to_limits.maximum_units == 9


def test_limits_that_already_say_so_hold_without_a_cooldown() -> None:
    # GIVEN the maximum already is the capacity decided
    plan = _tuned(managed(maximum=9))
    # THEN nothing is written, and no cooldown starts
    assert plan.reason is ReasonCode.HOLD_MANAGED_SCALING_TUNED
    assert not plan.acts
    assert plan.managed_scaling is None
    assert plan.next_state.last_scale_out_at is None
    _assert_sentence(plan)


def test_a_decision_that_does_not_act_leaves_the_limits() -> None:
    # GIVEN a cluster whose utilization just fell low (stabilizing) under tuned managed scaling
    low = metrics(allocated_mb=NODE_MB, allocated_vcores=2)
    scaling = policy(**TUNE)
    decided = plan_resize(snapshot(), low, scaling, state(), NOW)
    # WHEN tuned
    plan = plan_tune(decided, snapshot(), managed(), scaling, state(), NOW)
    # THEN the decision stands, saying managed scaling is tuned
    assert plan.reason is decided.reason
    assert decided.reason is ReasonCode.HOLD_STABILIZING
    assert plan.managed_scaling is None
    detail = next(c.detail for c in plan.checks if c.name == "other_scalers")
    assert "tuned by this scaler" in detail


def test_a_steady_settled_cluster_pins_the_maximum_to_its_size() -> None:
    # GIVEN a steady cluster (no demand pending) of CORE 2 + TASK 2, managed scaling allowed up to 20
    steady = metrics(allocated_mb=3 * NODE_MB, allocated_vcores=6)
    scaling = policy(**TUNE)
    decided = plan_resize(snapshot(), steady, scaling, state(), NOW)
    assert decided.reason is ReasonCode.HOLD_STEADY
    # WHEN tuned
    plan = plan_tune(decided, snapshot(), managed(), scaling, state(), NOW)
    # THEN the maximum is pinned to its 4 instances (as the dampener resets its maximum), no cooldown starts
    assert plan.reason is ReasonCode.SCALE_MANAGED_SCALING_LIMITS
    assert plan.managed_scaling is not None
    assert plan.managed_scaling.to_limits.maximum_units == 4
    assert "no demand is pending" in plan.explanation
    assert plan.next_state.last_scale_in_at is None
    assert plan.next_state.last_scale_out_at is None
    # BUT a cluster with nodes still starting is left alone
    moving = snapshot(core(2), task(2, requested=3))
    unsettled = plan_tune(plan_resize(moving, steady, scaling, state(), NOW), moving, managed(), scaling, state(), NOW)
    assert unsettled.managed_scaling is None


def test_a_scale_out_never_takes_back_a_maximum_this_scaler_allowed() -> None:
    # GIVEN the scaler allowed 13 instances a while ago, and managed scaling has not used them all yet
    allowed = managed(maximum=13)
    remembered = state(managed_scaling=ManagedScalingMemory(written=allowed, team=managed()))
    # WHEN a scale-out now wants 9
    plan = _tuned(allowed, memory=remembered)
    # THEN the maximum stays at 13: nothing is written
    assert plan.reason is ReasonCode.HOLD_MANAGED_SCALING_TUNED
    assert "already allow it" in plan.explanation


def test_tune_on_a_fleet_cluster_counts_fleet_units() -> None:
    # GIVEN a fleet cluster (CORE 8 units, TASK 8 Spot units) with pending demand, managed scaling in fleet units
    cluster = fleet_snapshot(fleet(spot=8))
    busy = metrics(allocated_mb=4 * NODE_MB - 1024, allocated_vcores=12, pending_mb=12 * UNIT_MB)
    scaling = policy(**TUNE)
    decided = plan_fleet_resize(cluster, busy, scaling, state(), NOW)
    (command,) = decided.commands
    # WHEN tuned
    plan = plan_tune(decided, cluster, managed(ManagedScalingUnit.INSTANCE_FLEET_UNITS, 8, 200), scaling, state(), NOW)
    # THEN the maximum is the CORE fleet's 8 units plus the TASK fleet's new target
    assert plan.managed_scaling is not None
    assert plan.managed_scaling.to_limits.maximum_units == 8 + command.to_count


def test_no_other_scaler_leaves_the_plan_with_a_passed_check() -> None:
    scaling = policy()
    decided = plan_resize(snapshot(core(2), task(2, state=GroupState.RUNNING)), BUSY, scaling, state(), NOW)
    plan = plan_tune(decided, snapshot(), None, scaling, state(), NOW)
    assert plan.reason is decided.reason
    assert plan.commands == decided.commands
    assert ("other_scalers", True, "none") in [(c.name, c.passed, c.detail) for c in plan.checks]


def test_tune_never_turns_a_market_move_into_limits() -> None:
    # GIVEN a Spot fallback decided on a fleet cluster (On-Demand 0 → 8, Spot 16 → 8) and managed scaling 4..60 units
    from emr_autoscaler.scaling.domain.decisions import FleetMemory
    from tests.unit.domain_builders import ago

    short = fleet_snapshot(fleet(spot=16, provisioned_spot=8))
    memory = state(fleets=(FleetMemory(fleet_id="if-TASK1", spot_short_since=ago(1000), last_provisioned_spot=8),))
    busy = metrics(nodes=6, allocated_mb=6 * NODE_MB - 4096, allocated_vcores=20)
    fallback = plan_fleet_resize(short, busy, policy(**TUNE), memory, NOW)
    assert fallback.reason is ReasonCode.SCALE_SPOT_FALLBACK
    limits = ManagedScalingLimits(unit_type=ManagedScalingUnit.INSTANCE_FLEET_UNITS, minimum_units=4, maximum_units=60)
    # WHEN plan_tune is handed it
    tuned = plan_tune(fallback, short, limits, policy(**TUNE), memory, NOW)
    # THEN no limit is written, nothing is resized, and no fallback is remembered
    assert tuned.reason is ReasonCode.HOLD_MANAGED_SCALING_TUNED, tuned.explanation
    assert tuned.managed_scaling is None
    assert not tuned.commands
    assert tuned.next_state.fleet("if-TASK1").fallback_units == 0

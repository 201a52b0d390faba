"""The service on clusters another scaler resizes: held with one notice per episode, unreadable answers held,
`managed_scaling: tune` writing limits instead of resizing (once per decision), and `explain` saying so."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from emr_autoscaler.kernel.config.document import parse_config
from emr_autoscaler.kernel.events import AppDetailType
from emr_autoscaler.kernel.models import InstanceLocation, ManagedScalingLimits, ManagedScalingUnit, NodeLabels
from emr_autoscaler.scaling.domain.decisions import FleetMemory, ReasonCode, ScalingState
from emr_autoscaler.scaling.explain import explanation_dict, render_text
from emr_autoscaler.scaling.ports import OtherScalerUnreadableError
from emr_autoscaler.scaling.service import Outcome, Scaler
from tests.fakes import (
    FakeEmr,
    FakeFleets,
    FakeInstanceDirectory,
    FakeManagedScaling,
    FakeMetrics,
    InMemoryStateStore,
    RecordingPublisher,
    RecordingSink,
    StaticConfig,
    no_log_context,
)
from tests.unit.domain_builders import (
    CLUSTER_ID,
    NODE_MB,
    NOW,
    core,
    fleet,
    fleet_snapshot,
    metrics,
    snapshot,
    task,
)

BUSY = metrics(allocated_mb=4 * NODE_MB - 1024, allocated_vcores=12, pending_mb=5 * NODE_MB)
LIMITS = ManagedScalingLimits(unit_type=ManagedScalingUnit.INSTANCES, minimum_units=2, maximum_units=20)


class CountingMetrics(FakeMetrics):
    """CountingMetrics counts its reads."""

    reads: int = 0

    def read(self, *args: Any) -> Any:
        self.reads += 1
        return super().read(*args)


def _scaler(
    managed: FakeManagedScaling, defaults: dict[str, Any] | None = None, cluster: Any = None
) -> tuple[Scaler, FakeEmr, RecordingPublisher, CountingMetrics]:
    emr, published, reader = FakeEmr(), RecordingPublisher(), CountingMetrics(BUSY)
    emr.add(cluster or snapshot())
    scaler = Scaler(
        emr=emr,
        metrics=reader,
        store=InMemoryStateStore(),
        config=StaticConfig(parse_config({"defaults": defaults or {}})),
        sink=RecordingSink(),
        clock=lambda: NOW,
        events=published,
        log_context=no_log_context,
        managed_scaling=managed,
    )
    return scaler, emr, published, reader


def _warnings(published: RecordingPublisher) -> list[str]:
    return [
        e.detail.reason_code
        for e in published.events
        if e.detail_type is AppDetailType.SCALING_DECISION and e.detail.severity.value == "warning"
    ]


def test_managed_scaling_attached_holds_every_evaluation_with_one_notice() -> None:
    # GIVEN a busy cluster with EMR Managed Scaling attached, the profile at its default (hold)
    managed = FakeManagedScaling(policies={CLUSTER_ID: LIMITS})
    scaler, emr, published, reader = _scaler(managed)
    # WHEN it is evaluated three times
    summaries = [scaler.reconcile_cluster(CLUSTER_ID) for _ in range(3)]
    # THEN it is never resized, each a hold naming managed scaling, one notice for the episode, no metrics read
    assert {s.reason for s in summaries} == {ReasonCode.HOLD_OTHER_SCALER}
    assert {s.outcome for s in summaries} == {Outcome.HELD}
    assert not emr.resizes
    assert not managed.tunes
    assert _warnings(published) == ["HOLD_OTHER_SCALER"]
    assert "EMR Managed Scaling" in summaries[0].explanation
    assert reader.reads == 0
    assert managed.reads == 3  # once per evaluation


def test_a_group_scaling_policy_holds_the_cluster() -> None:
    managed = FakeManagedScaling()
    scaler, emr, published, _reader = _scaler(
        managed, cluster=snapshot(core(2), task(2, auto_scaling_policy="ATTACHED"))
    )
    summary = scaler.reconcile_cluster(CLUSTER_ID)
    assert summary.reason is ReasonCode.HOLD_OTHER_SCALER
    assert not emr.resizes
    assert _warnings(published) == ["HOLD_OTHER_SCALER"]


def test_an_unreadable_managed_scaling_answer_holds_and_the_episode_ends_when_it_reads_again() -> None:
    # GIVEN GetManagedScalingPolicy refused (AccessDenied) twice, then answering: no policy
    managed = FakeManagedScaling(
        always_error=OtherScalerUnreadableError("GetManagedScalingPolicy refused: AccessDenied")
    )
    scaler, emr, published, _reader = _scaler(managed)
    held = [scaler.reconcile_cluster(CLUSTER_ID) for _ in range(2)]
    managed.always_error = None
    after = scaler.reconcile_cluster(CLUSTER_ID)
    # THEN the refusals hold (one notice), never resize; once readable the cluster is decided as usual
    assert {s.reason for s in held} == {ReasonCode.HOLD_OTHER_SCALER_UNREADABLE}
    assert "AccessDenied" in held[0].explanation
    assert _warnings(published) == ["HOLD_OTHER_SCALER_UNREADABLE"]
    assert after.reason is ReasonCode.SCALE_OUT_PENDING_DEMAND
    assert len(emr.resizes) == 1


def test_tune_writes_the_maximum_once_per_decision_and_never_resizes() -> None:
    # GIVEN managed scaling attached and the profile tuning it
    managed = FakeManagedScaling(policies={CLUSTER_ID: LIMITS})
    scaler, emr, published, _reader = _scaler(managed, {"managed_scaling": "tune"})
    # WHEN evaluated twice in the same minute
    first, second = scaler.reconcile_cluster(CLUSTER_ID), scaler.reconcile_cluster(CLUSTER_ID)
    # THEN the first writes max 9 (CORE 2 + TASK 7), the second is within the cooldown: no second write, no resize
    assert first.reason is ReasonCode.SCALE_MANAGED_SCALING_LIMITS
    assert first.outcome is Outcome.APPLIED
    assert [t.to_limits.maximum_units for _c, t in managed.tunes] == [9]
    assert second.reason is ReasonCode.HOLD_COOLDOWN
    assert not emr.resizes
    assert first.as_dict()["managed_scaling"]["to_limits"]["maximum_units"] == 9
    info = [e for e in published.events if e.detail.reason_code == "SCALE_MANAGED_SCALING_LIMITS"]
    assert len(info) == 1
    assert "max 20 → 9" in (info[0].detail.action or "")


def test_tune_in_observe_mode_writes_nothing() -> None:
    managed = FakeManagedScaling(policies={CLUSTER_ID: LIMITS})
    scaler, emr, _published, _reader = _scaler(managed, {"managed_scaling": "tune", "mode": "observe"})
    summary = scaler.reconcile_cluster(CLUSTER_ID)
    assert summary.outcome is Outcome.OBSERVED
    assert summary.explanation.startswith("Observe mode, not acting: Tuning EMR Managed Scaling")
    assert not managed.tunes
    assert not emr.resizes


def test_a_policy_that_moved_before_the_write_is_skipped() -> None:
    # GIVEN the policy changes between the decision and the write
    class MovingManagedScaling(FakeManagedScaling):
        def tune(self, cluster_id: str, command: Any) -> None:
            self.policies[cluster_id] = LIMITS.model_copy(update={"maximum_units": 30})
            super().tune(cluster_id, command)

    managed = MovingManagedScaling(policies={CLUSTER_ID: LIMITS})
    scaler, _emr, _published, _reader = _scaler(managed, {"managed_scaling": "tune"})
    summary = scaler.reconcile_cluster(CLUSTER_ID)
    assert summary.reason is ReasonCode.SKIPPED_GROUP_MOVED
    assert not managed.tunes


def test_explain_says_which_scaler_holds_the_cluster() -> None:
    managed = FakeManagedScaling(policies={CLUSTER_ID: LIMITS})
    scaler, _emr, _published, _reader = _scaler(managed)
    evaluation = scaler.evaluate(CLUSTER_ID, NOW)
    text = render_text(evaluation)
    assert "FAIL other_scalers" in text
    assert "managed    2..20 Instances (managed_scaling: hold)" in text
    assert "decision   HOLD_OTHER_SCALER" in text
    as_json = explanation_dict(evaluation)
    assert as_json["managed_scaling"]["maximum_units"] == 20
    assert as_json["reason"] == "HOLD_OTHER_SCALER"


def test_each_decision_names_its_metrics_source() -> None:
    scaler, _emr, _published, _reader = _scaler(FakeManagedScaling())
    assert scaler.reconcile_cluster(CLUSTER_ID).as_dict()["metrics_source"] == "resourcemanager"
    held, *_ = _scaler(FakeManagedScaling(policies={CLUSTER_ID: LIMITS}))
    assert held.reconcile_cluster(CLUSTER_ID).as_dict()["metrics_source"] is None


STEADY = metrics(allocated_mb=3 * NODE_MB, allocated_vcores=9)


def test_a_steady_tick_trusts_a_recent_no_managed_scaling_answer_and_reads_it_again_after_five_minutes() -> None:
    # GIVEN a cluster without managed scaling, steady (nothing to resize), evaluated by one warm container
    managed = FakeManagedScaling()
    scaler, emr, _published, reader = _scaler(managed)
    reader.value = STEADY
    clock = [NOW]
    scaler.clock = lambda: clock[0]
    # WHEN it is evaluated every minute for four minutes, then six minutes after the first read
    for minute in range(4):
        clock[0] = NOW + timedelta(minutes=minute)
        assert not scaler.reconcile_cluster(CLUSTER_ID).commands
    reads_within = managed.reads
    clock[0] = NOW + timedelta(minutes=6)
    scaler.reconcile_cluster(CLUSTER_ID)
    # THEN GetManagedScalingPolicy was read once in the first five minutes (3 AWS calls a steady tick), again after
    assert reads_within == 1
    assert managed.reads == 2
    assert not emr.resizes


def test_a_tick_that_would_resize_reads_managed_scaling_again_and_holds_when_it_was_attached_since() -> None:
    # GIVEN a steady cluster read as having no managed scaling a moment ago
    managed = FakeManagedScaling()
    scaler, emr, published, reader = _scaler(managed)
    reader.value = STEADY
    assert scaler.reconcile_cluster(CLUSTER_ID).reason is not ReasonCode.HOLD_OTHER_SCALER
    # WHEN managed scaling is attached and, within the recheck time, demand would grow the cluster
    managed.policies[CLUSTER_ID] = LIMITS
    reader.value = BUSY
    summary = scaler.reconcile_cluster(CLUSTER_ID)
    # THEN the cached answer is not trusted for a resize: read again, held for the other scaler, nothing resized
    assert managed.reads == 2
    assert summary.reason is ReasonCode.HOLD_OTHER_SCALER
    assert not emr.resizes
    assert _warnings(published) == ["HOLD_OTHER_SCALER"]
    assert summary.metrics_source == "resourcemanager"  # the metrics it read before the second look are named


def test_a_tick_that_would_resize_on_a_cached_answer_holds_when_the_second_read_fails() -> None:
    managed = FakeManagedScaling()
    scaler, emr, _published, reader = _scaler(managed)
    reader.value = STEADY
    scaler.reconcile_cluster(CLUSTER_ID)
    managed.next_error = OtherScalerUnreadableError("GetManagedScalingPolicy throttled")
    reader.value = BUSY
    summary = scaler.reconcile_cluster(CLUSTER_ID)
    assert summary.reason is ReasonCode.HOLD_OTHER_SCALER_UNREADABLE
    assert not emr.resizes
    # and the next tick reads again (an unreadable answer is never cached): demand grows the cluster
    scaler.reconcile_cluster(CLUSTER_ID)
    assert managed.reads == 3
    assert len(emr.resizes) == 1


def test_an_unreadable_label_configuration_warns_once_and_only_for_an_opted_in_cluster() -> None:
    unreadable = NodeLabels(am_label=None, unreadable="yarn.node-labels.enabled is 'maybe'")
    for tags, expected in (({}, []), (None, ["NODE_LABELS_UNREADABLE"])):
        cluster = snapshot(tags=tags).model_copy(update={"node_labels": unreadable})
        scaler, _emr, published, reader = _scaler(FakeManagedScaling(), cluster=cluster)
        reader.value = STEADY
        for _ in range(3):
            scaler.reconcile_cluster(CLUSTER_ID)
        assert [r for r in _warnings(published) if r == "NODE_LABELS_UNREADABLE"] == expected


FLEET_LIMITS = ManagedScalingLimits(
    unit_type=ManagedScalingUnit.INSTANCE_FLEET_UNITS, minimum_units=4, maximum_units=60
)


def _tuned_fleet_scaler(
    task: Any, yarn: Any, memory: Any = None
) -> tuple[Scaler, FakeManagedScaling, FakeFleets, InMemoryStateStore]:
    """A fleet cluster with managed scaling attached (4..60 fleet units) and a profile that tunes it."""
    emr, fleets, store = FakeEmr(), FakeFleets(), InMemoryStateStore()
    cluster = fleet_snapshot(task)
    emr.add(cluster)
    fleets.fleets[CLUSTER_ID] = cluster.fleets
    fleets.instances.append(
        InstanceLocation(
            cluster_id=CLUSTER_ID, ec2_instance_id="i-0abc1234def567890", fleet_id="if-TASK1", instance_type="m5.xlarge"
        )
    )
    if memory is not None:
        store.save(memory, expected_version=0)
    managed = FakeManagedScaling(policies={CLUSTER_ID: FLEET_LIMITS})
    scaler = Scaler(
        emr=emr,
        metrics=FakeMetrics(yarn),
        store=store,
        config=StaticConfig(parse_config({"defaults": {"managed_scaling": "tune"}})),
        sink=RecordingSink(),
        clock=lambda: NOW,
        events=RecordingPublisher(),
        log_context=no_log_context,
        managed_scaling=managed,
        fleets=fleets,
        # EC2's DescribeInstances names the cluster of each instance the fleets run (its EMR tag)
        instances=FakeInstanceDirectory({i.ec2_instance_id: i.cluster_id for i in fleets.instances}),
    )
    return scaler, managed, fleets, store


def test_tune_makes_no_spot_fallback_of_a_short_fleet() -> None:
    # GIVEN a tuned fleet cluster whose TASK fleet has been 8 Spot units short for 20 minutes
    busy = metrics(nodes=6, allocated_mb=6 * NODE_MB - 4096, allocated_vcores=20)
    short = FleetMemory(fleet_id="if-TASK1", spot_short_since=NOW - timedelta(minutes=20), last_provisioned_spot=8)
    scaler, managed, fleets, store = _tuned_fleet_scaler(
        fleet(spot=16, provisioned_spot=8), busy, ScalingState(cluster_id=CLUSTER_ID, fleets=(short,))
    )
    # WHEN it is evaluated
    summary = scaler.reconcile_cluster(CLUSTER_ID)
    # THEN no Spot fallback is decided (managed scaling picks the markets), so no maximum is lowered for
    # On-Demand units never bought, nothing is resized, and no fallback is remembered
    assert summary.reason is not ReasonCode.SCALE_SPOT_FALLBACK, summary.explanation
    assert "On-Demand" not in summary.explanation
    assert all(t.to_limits.maximum_units >= FLEET_LIMITS.maximum_units for _c, t in managed.tunes)
    assert not fleets.resizes
    assert store.load(CLUSTER_ID).fleet("if-TASK1").fallback_units == 0


def test_tune_counts_a_spot_interruption_and_leaves_its_replacement_to_managed_scaling() -> None:
    # GIVEN a busy tuned fleet cluster and EC2's warning for one of its Spot instances
    from emr_autoscaler.scaling.service import handle_trigger
    from emr_autoscaler.scaling.triggers import SpotInterruption

    busy = metrics(nodes=6, allocated_mb=6 * NODE_MB - 4096, allocated_vcores=20)
    scaler, managed, fleets, store = _tuned_fleet_scaler(fleet(spot=16), busy)
    warning = SpotInterruption(event_id="e-1", ec2_instance_id="i-0abc1234def567890")
    # WHEN the scaler handles it
    result = handle_trigger(warning, scaler)
    # THEN it is counted once and not replaced: no resize, no limits moved for it, no replacement to restore later
    assert result["decisions"][0]["reason"] == "HOLD_INTERRUPTION_NOT_REPLACED"
    assert not fleets.resizes
    assert not managed.tunes
    saved = store.load(CLUSTER_ID)
    assert [(c.instance_type, c.count) for c in saved.interruptions] == [("m5.xlarge", 1)]
    assert all(r.restored for r in saved.replacements)

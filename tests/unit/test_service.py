"""Service tests: the use case around the core, with fakes of every port (no I/O)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from emr_autoscaler.eventbridge import Ignored
from emr_autoscaler.kernel.models import ClusterState
from emr_autoscaler.scaling.domain.decisions import ReasonCode
from emr_autoscaler.scaling.service import Outcome, ReconcileFailedError, Scaler, handle_trigger
from emr_autoscaler.scaling.triggers import ClusterTrigger, ScheduledTick
from tests.fakes import (
    FakeEmr,
    FakeMetrics,
    InMemoryStateStore,
    RecordingPublisher,
    RecordingSink,
    StaticConfig,
    no_log_context,
)
from tests.unit.domain_builders import CLUSTER_ID, NOW, metrics, snapshot

SPIKE = metrics(nodes=4, allocated_mb=4 * 12288, allocated_vcores=16, pending_mb=40960, pending_vcores=20)


def make_scaler(
    emr: FakeEmr | None = None, value: object = SPIKE, store: InMemoryStateStore | None = None
) -> tuple[Scaler, FakeEmr, InMemoryStateStore, RecordingSink]:
    emr = emr or FakeEmr()
    if not emr.clusters:
        emr.add(snapshot())
    store = store or InMemoryStateStore()
    sink = RecordingSink()
    scaler = Scaler(
        emr=emr,
        metrics=FakeMetrics(value),  # type: ignore[arg-type]
        store=store,
        config=StaticConfig(),
        sink=sink,
        clock=lambda: NOW,
        events=RecordingPublisher(),
        log_context=no_log_context,
    )
    return scaler, emr, store, sink


def test_pending_demand_is_applied_once_and_recorded() -> None:
    # GIVEN a cluster with pending demand
    scaler, emr, store, sink = make_scaler()
    # WHEN it is reconciled
    summary = scaler.reconcile_cluster(CLUSTER_ID)
    # THEN one resize is applied, the state moved one version and the decision is recorded and published
    assert summary.outcome is Outcome.APPLIED
    assert summary.reason is ReasonCode.SCALE_OUT_PENDING_DEMAND
    assert len(emr.resizes) == 1
    assert store.load(CLUSTER_ID).version == 1
    assert store.load(CLUSTER_ID).last_scale_out_at == NOW
    assert store.records == [(CLUSTER_ID, "SCALE_OUT_PENDING_DEMAND", "applied")]
    assert sink.published == [(CLUSTER_ID, "SCALE_OUT_PENDING_DEMAND", "applied")]


def test_same_trigger_twice_acts_once() -> None:
    # GIVEN a cluster with pending demand, evaluated once
    scaler, emr, _store, _sink = make_scaler()
    scaler.reconcile_cluster(CLUSTER_ID)
    # WHEN the same trigger arrives again at the same moment
    second = scaler.reconcile_cluster(CLUSTER_ID)
    # THEN the cooldown holds: still one resize
    assert second.reason is ReasonCode.HOLD_COOLDOWN
    assert len(emr.resizes) == 1


def test_losing_the_claim_race_never_acts() -> None:
    # GIVEN another evaluation writes the state between our read and our write
    store = InMemoryStateStore(lose_next_race=True)
    scaler, emr, _store, _sink = make_scaler(store=store)
    # WHEN we reconcile
    summary = scaler.reconcile_cluster(CLUSTER_ID)
    # THEN we skip and do not touch the cluster
    assert summary.outcome is Outcome.SKIPPED
    assert summary.reason is ReasonCode.SKIPPED_ALREADY_DECIDED
    assert emr.resizes == []


def test_parallel_evaluations_resize_once() -> None:
    # GIVEN eight threads evaluating the same cluster at the same moment
    scaler, emr, _store, _sink = make_scaler()
    barrier = threading.Barrier(8)
    outcomes: list[Outcome] = []

    def run() -> None:
        barrier.wait()
        outcomes.append(scaler.reconcile_cluster(CLUSTER_ID).outcome)

    threads = [threading.Thread(target=run) for _ in range(8)]
    # WHEN they all run
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # THEN exactly one resize happened
    assert len(emr.resizes) == 1
    assert outcomes.count(Outcome.APPLIED) == 1


def test_group_moved_between_decision_and_action_is_skipped_and_released() -> None:
    # GIVEN the group changes under us right before the resize
    from emr_autoscaler.scaling.ports import GroupMovedError

    scaler, emr, store, _sink = make_scaler()
    emr.next_resize_error = GroupMovedError("task moved")
    # WHEN we reconcile
    summary = scaler.reconcile_cluster(CLUSTER_ID)
    # THEN nothing is resized, the reason says why, and no cooldown was started
    assert summary.reason is ReasonCode.SKIPPED_GROUP_MOVED
    assert emr.resizes == []
    assert store.load(CLUSTER_ID).last_scale_out_at is None
    # AND the next evaluation acts afresh
    assert scaler.reconcile_cluster(CLUSTER_ID).outcome is Outcome.APPLIED


def test_aws_error_on_resize_releases_the_claim_and_raises() -> None:
    # GIVEN EMR fails the resize after botocore's retries
    scaler, emr, store, sink = make_scaler()
    emr.next_resize_error = RuntimeError("ThrottlingException")
    # WHEN we reconcile, THEN the error surfaces (so the trigger is retried or dead-lettered)
    with pytest.raises(RuntimeError, match="Throttling"):
        scaler.reconcile_cluster(CLUSTER_ID)
    # AND the failure is recorded, and no cooldown blocks the retry
    assert (CLUSTER_ID, "SCALE_OUT_PENDING_DEMAND", "failed") in store.records
    assert store.load(CLUSTER_ID).last_scale_out_at is None
    assert sink.published[-1][2] == "failed"


def test_unknown_cluster_is_a_hold_with_a_reason() -> None:
    # GIVEN a cluster id EMR does not know
    scaler, emr, _store, _sink = make_scaler()
    # WHEN it is reconciled
    summary = scaler.reconcile_cluster("j-GONE")
    # THEN it holds with HOLD_CLUSTER_NOT_FOUND, touching nothing
    assert summary.reason is ReasonCode.HOLD_CLUSTER_NOT_FOUND
    assert "j-GONE" in summary.explanation
    assert emr.resizes == []


def test_no_valid_configuration_holds() -> None:
    # GIVEN no valid configuration was ever read
    scaler, emr, _store, _sink = make_scaler()
    scaler.config = StaticConfig(document=None)
    # WHEN reconciled
    summary = scaler.reconcile_cluster(CLUSTER_ID)
    # THEN it holds and names the invalid field
    assert summary.reason is ReasonCode.HOLD_CONFIG_INVALID
    assert "cooldown_s" in summary.explanation
    assert emr.resizes == []


def test_not_opted_in_cluster_costs_no_group_or_metrics_read() -> None:
    # GIVEN a cluster without the opt-in tag
    emr = FakeEmr()
    emr.add(snapshot(tags={}))
    scaler, emr, _store, _sink = make_scaler(emr=emr)
    # WHEN reconciled
    summary = scaler.reconcile_cluster(CLUSTER_ID)
    # THEN it holds, and only DescribeCluster was called
    assert summary.reason is ReasonCode.HOLD_CLUSTER_NOT_OPTED_IN
    assert emr.calls == [f"describe {CLUSTER_ID}"]


def test_steady_hold_writes_nothing() -> None:
    # GIVEN a cluster whose size fits its load, evaluated once (which records the reason it holds for)
    scaler, _emr, store, _sink = make_scaler(value=metrics(nodes=4, allocated_mb=3 * 12288))
    scaler.reconcile_cluster(CLUSTER_ID)
    version, records = store.load(CLUSTER_ID).version, list(store.records)
    # WHEN reconciled again, twice
    scaler.reconcile_cluster(CLUSTER_ID)
    scaler.reconcile_cluster(CLUSTER_ID)
    # THEN no state write and no audit record: a steady tick costs reads only
    assert store.load(CLUSTER_ID).version == version
    assert store.records == records


def test_scheduled_tick_evaluates_every_active_cluster_and_reports_failures() -> None:
    # GIVEN two active clusters and a terminated one
    emr = FakeEmr()
    emr.add(snapshot())
    emr.add(snapshot().model_copy(update={"cluster_id": "j-SECOND"}))
    emr.add(snapshot(state=ClusterState.TERMINATED).model_copy(update={"cluster_id": "j-DEAD"}))
    scaler, emr, _store, _sink = make_scaler(emr=emr)
    # WHEN the schedule fires
    result = handle_trigger(ScheduledTick(event_id="e1"), scaler)
    # THEN both active clusters were evaluated
    assert sorted(d["cluster_id"] for d in result["decisions"]) == sorted([CLUSTER_ID, "j-SECOND"])
    assert result["applied"] == 2

    # AND when one fails, the other still runs and the invocation fails loudly
    fresh, emr2, _store2, _sink2 = make_scaler(emr=FakeEmr(clusters=dict(emr.clusters)))
    emr2.next_resize_error = RuntimeError("boom")
    with pytest.raises(ReconcileFailedError, match="1 of 2"):
        handle_trigger(ScheduledTick(event_id="e2"), fresh)
    assert len(emr2.resizes) == 1


def test_cluster_trigger_and_ignored_event() -> None:
    # GIVEN a scaler
    scaler, emr, _store, _sink = make_scaler()
    # WHEN an alarm names the cluster
    result = handle_trigger(ClusterTrigger(event_id="a", cluster_id=CLUSTER_ID, cause="alarm"), scaler)
    # THEN that cluster is evaluated
    assert [d["reason"] for d in result["decisions"]] == ["SCALE_OUT_PENDING_DEMAND"]
    # AND an ignored event does nothing
    ignored = handle_trigger(Ignored(reason="no handler"), scaler)
    assert ignored == {"ignored": True, "reason": "no handler", "decisions": []}
    assert len(emr.resizes) == 1


def test_actions_and_trouble_publish_one_notice_each() -> None:
    # GIVEN a scaler publishing application events
    from emr_autoscaler.kernel.events import AppDetailType
    from tests.fakes import RecordingPublisher

    scaler, _emr, _store, _sink = make_scaler()
    published = RecordingPublisher()
    scaler.events = published
    # WHEN it scales out, then metrics disappear for three ticks
    scaler.reconcile_cluster(CLUSTER_ID)
    scaler.metrics = FakeMetrics(None)
    for _ in range(3):
        scaler.reconcile_cluster(CLUSTER_ID)
    # THEN one info notice for the action and one warning for the outage, not three
    kinds = [(e.detail_type, e.detail.reason_code, e.detail.severity.value) for e in published.events]
    assert kinds == [
        (AppDetailType.SCALING_DECISION, "SCALE_OUT_PENDING_DEMAND", "info"),
        (AppDetailType.SCALING_DECISION, "HOLD_METRICS_MISSING", "warning"),
    ]
    assert published.events[0].detail.cluster_id == CLUSTER_ID
    assert "2 → 7" in (published.events[0].detail.action or "")


def test_a_failing_bus_does_not_undo_the_decision() -> None:
    # GIVEN an event bus that refuses everything
    class BrokenBus:
        def publish(self, events: object) -> None:
            raise RuntimeError("AccessDenied")

    scaler, emr, _store, _sink = make_scaler()
    scaler.events = BrokenBus()
    # WHEN the scaler acts
    summary = scaler.reconcile_cluster(CLUSTER_ID)
    # THEN the resize stands (the lost notice is logged), and it is not retried into a second resize
    assert summary.outcome is Outcome.APPLIED
    assert len(emr.resizes) == 1


def test_observe_mode_decides_and_notifies_but_never_resizes() -> None:
    # GIVEN a loaded cluster tagged for observe mode
    from tests.fakes import RecordingPublisher

    emr = FakeEmr()
    emr.add(snapshot(tags={"emr-autoscaler:enabled": "true", "emr-autoscaler:mode": "observe"}))
    scaler, emr, store, _sink = make_scaler(emr=emr)
    published = RecordingPublisher()
    scaler.events = published
    # WHEN reconciled
    summary = scaler.reconcile_cluster(CLUSTER_ID)
    # THEN the decision is what active mode would do, said as such, recorded, notified, and EMR is untouched
    assert summary.outcome is Outcome.OBSERVED
    assert summary.reason is ReasonCode.SCALE_OUT_PENDING_DEMAND
    assert summary.explanation.startswith("Observe mode, not acting:")
    assert emr.resizes == []
    assert [c for c in emr.calls if c.startswith("resize")] == []
    assert store.records == [(CLUSTER_ID, "SCALE_OUT_PENDING_DEMAND", "observed")]
    assert published.events[0].detail.severity.value == "info"


def test_paused_cluster_reads_nothing_more_and_holds() -> None:
    # GIVEN a cluster paused by tag
    emr = FakeEmr()
    emr.add(snapshot(tags={"emr-autoscaler:enabled": "true", "emr-autoscaler:mode": "paused"}))
    scaler, emr, store, _sink = make_scaler(emr=emr)
    # WHEN reconciled
    summary = scaler.reconcile_cluster(CLUSTER_ID)
    # THEN it holds with HOLD_PAUSED after one describe, writing nothing
    assert summary.reason is ReasonCode.HOLD_PAUSED
    assert "paused" in summary.explanation
    assert emr.calls == [f"describe {CLUSTER_ID}"]
    assert store.states == {}


def test_profile_mode_applies_and_switching_takes_effect_next_evaluation() -> None:
    # GIVEN a configuration whose default profile observes
    from emr_autoscaler.kernel.config.document import parse_config

    scaler, emr, _store, _sink = make_scaler()
    scaler.config = StaticConfig(document=parse_config({"defaults": {"mode": "observe"}}))
    # WHEN reconciled, THEN nothing is resized
    assert scaler.reconcile_cluster(CLUSTER_ID).outcome is Outcome.OBSERVED
    assert emr.resizes == []
    # WHEN ops switch the profile to active, THEN the next evaluation (after the cooldown) acts
    scaler.config = StaticConfig(document=parse_config({"defaults": {"mode": "active"}}))
    scaler.clock = lambda: NOW + timedelta(seconds=61)
    scaler.metrics = FakeMetrics(SPIKE.model_copy(update={"observed_at": NOW + timedelta(seconds=60)}))
    assert scaler.reconcile_cluster(CLUSTER_ID).outcome is Outcome.APPLIED
    assert len(emr.resizes) == 1


def test_no_valid_configuration_notifies_once_per_episode() -> None:
    # GIVEN no valid configuration (the configuration parameter unreadable, or refused)
    from tests.fakes import RecordingPublisher

    scaler, _emr, _store, _sink = make_scaler()
    scaler.config = StaticConfig(document=None)
    published = RecordingPublisher()
    scaler.events = published
    # WHEN the scaler holds for ten ticks
    for _ in range(10):
        scaler.reconcile_cluster(CLUSTER_ID)
    # THEN one notice for the episode, not one per tick
    assert [e.detail.reason_code for e in published.events] == ["HOLD_CONFIG_INVALID"]

"""The service on fleet clusters: read in units, resized through the fleet port, never a failed invocation."""

from __future__ import annotations

import logging

import pytest
from botocore.exceptions import ClientError

from emr_autoscaler.kernel.events import AppDetailType
from emr_autoscaler.kernel.models import InstanceGroupCapacity
from emr_autoscaler.scaling.domain.decisions import ReasonCode, ResizeInstanceFleet
from emr_autoscaler.scaling.ports import ClusterUnreadableError
from emr_autoscaler.scaling.service import Outcome, Scaler
from tests.fakes import (
    FakeEmr,
    FakeFleets,
    FakeInstanceDirectory,
    FakeMetrics,
    InMemoryStateStore,
    RecordingPublisher,
    RecordingSink,
    StaticConfig,
    no_log_context,
)
from tests.unit.domain_builders import CLUSTER_ID, NOW, UNIT_MB, fleet_snapshot, metrics, snapshot

BUSY_SPIKE = metrics(allocated_mb=4 * 12288 - 1024, allocated_vcores=12, pending_mb=12 * UNIT_MB)


def _scaler(
    emr: FakeEmr, fleets: FakeFleets | None, instances: FakeInstanceDirectory | None = None
) -> tuple[Scaler, RecordingPublisher, InMemoryStateStore]:
    published, store = RecordingPublisher(), InMemoryStateStore()
    if instances is None and fleets is not None:  # EC2 names the cluster of every instance the fleets run
        instances = FakeInstanceDirectory({i.ec2_instance_id: i.cluster_id for i in fleets.instances})
    scaler = Scaler(
        emr=emr,
        metrics=FakeMetrics(BUSY_SPIKE),  # type: ignore[arg-type]
        store=store,
        config=StaticConfig(),
        sink=RecordingSink(),
        clock=lambda: NOW,
        events=published,
        log_context=no_log_context,
        fleets=fleets,
        instances=instances,
    )
    return scaler, published, store


def test_fleet_cluster_is_scaled_through_modify_instance_fleet() -> None:
    # GIVEN a fleet cluster with pending demand
    emr, fleets = FakeEmr(), FakeFleets()
    cluster = fleet_snapshot()
    emr.add(cluster)
    fleets.fleets[CLUSTER_ID] = cluster.fleets
    scaler, _published, _store = _scaler(emr, fleets)
    # WHEN it is reconciled
    summary = scaler.reconcile_cluster(CLUSTER_ID)
    # THEN one fleet resize is applied in units, and no instance-group call is made
    assert summary.outcome is Outcome.APPLIED, summary.explanation
    assert len(fleets.resizes) == 1
    (command,) = fleets.resizes[0][1]
    assert isinstance(command, ResizeInstanceFleet)
    assert command.to_spot > command.from_spot
    assert not emr.resizes
    assert f"instance_groups {CLUSTER_ID}" not in emr.calls


def test_fleet_cluster_without_fleet_support_holds_with_one_notice() -> None:
    # GIVEN a fleet cluster and a scaler built without the fleet port
    emr = FakeEmr()
    emr.add(fleet_snapshot())
    scaler, published, store = _scaler(emr, None)
    # WHEN it is reconciled three times
    summaries = [scaler.reconcile_cluster(CLUSTER_ID) for _ in range(3)]
    # THEN each is a hold with its own reason (never an exception), and one warning is published, not three
    assert {s.reason for s in summaries} == {ReasonCode.HOLD_CLUSTER_UNREADABLE}
    assert {s.outcome for s in summaries} == {Outcome.HELD}
    warnings = [e for e in published.events if e.detail_type is AppDetailType.SCALING_DECISION]
    assert [e.detail.reason_code for e in warnings] == ["HOLD_CLUSTER_UNREADABLE"]
    assert store.load(CLUSTER_ID).last_reason is ReasonCode.HOLD_CLUSTER_UNREADABLE


def test_group_read_refused_by_emr_holds_instead_of_failing() -> None:
    # GIVEN a cluster whose ListInstanceGroups EMR refuses (a fleet cluster DescribeCluster did not say was one)
    class RefusingEmr(FakeEmr):
        def instance_groups(self, cluster_id: str) -> tuple[InstanceGroupCapacity, ...]:
            raise ClusterUnreadableError("ListInstanceGroups refused: Instance fleet clusters are not supported")

    emr = RefusingEmr()
    emr.add(snapshot())
    scaler, _published, _store = _scaler(emr, FakeFleets())
    # WHEN it is reconciled
    summary = scaler.reconcile_cluster(CLUSTER_ID)
    # THEN it holds, saying why
    assert summary.reason is ReasonCode.HOLD_CLUSTER_UNREADABLE
    assert "not supported" in summary.explanation


def test_explain_shows_fleets_their_spot_memory_and_the_market_split() -> None:
    # GIVEN a fleet cluster whose Spot has been short past the timeout
    from datetime import timedelta

    from emr_autoscaler.scaling.domain.decisions import FleetMemory, ScalingState
    from emr_autoscaler.scaling.explain import explanation_dict, render_text
    from tests.unit.domain_builders import fleet

    emr, fleets = FakeEmr(), FakeFleets()
    cluster = fleet_snapshot(fleet(spot=24, provisioned_spot=8))
    emr.add(cluster)
    fleets.fleets[CLUSTER_ID] = cluster.fleets
    scaler, _published, store = _scaler(emr, fleets)
    short = FleetMemory(fleet_id="if-TASK1", spot_short_since=NOW - timedelta(minutes=20))
    store.save(ScalingState(cluster_id=CLUSTER_ID, fleets=(short,)), expected_version=0)
    # WHEN explained
    evaluation = scaler.evaluate(CLUSTER_ID, NOW)
    text = render_text(evaluation)
    # THEN the fleet, what is remembered of its Spot side, and the fallback in both markets are shown
    assert "fleet      TASK   task-fleet: On-Demand 0/0, Spot 8/24 units" in text
    assert "spot       if-TASK1: short since" in text
    assert "On-Demand 0 → 16, Spot 24 → 8 units" in text
    assert explanation_dict(evaluation)["reason"] == "SCALE_SPOT_FALLBACK"
    # AND the episode is told in one line: what was short, for how long, what was done
    assert (
        "spot now   fleet 'task-fleet' (if-TASK1) was 16 Spot unit(s) short for 20 min; asked On-Demand for 16 "
        "unit(s) within its cap of 20 (On-Demand 0 → 16, Spot 24 → 8)" in text
    )
    episode = explanation_dict(evaluation)["spot_episode"]
    assert (episode["action"], episode["short"], episode["short_for_s"]) == ("fallback", 16, 1200)


def test_a_fallback_notice_is_titled_with_what_was_short_for_how_long_and_what_was_done() -> None:
    # GIVEN a fleet cluster whose Spot has been short for 20 minutes
    from datetime import timedelta

    from emr_autoscaler.kernel.notices import NoticeKind
    from emr_autoscaler.notifications.triggers import parse_notice_event
    from emr_autoscaler.scaling.domain.decisions import FleetMemory, ScalingState
    from tests.unit.domain_builders import fleet

    emr, fleets = FakeEmr(), FakeFleets()
    cluster = fleet_snapshot(fleet(spot=24, provisioned_spot=8))
    emr.add(cluster)
    fleets.fleets[CLUSTER_ID] = cluster.fleets
    scaler, published, store = _scaler(emr, fleets)
    short = FleetMemory(fleet_id="if-TASK1", spot_short_since=NOW - timedelta(minutes=20))
    store.save(ScalingState(cluster_id=CLUSTER_ID, fleets=(short,)), expected_version=0)
    # WHEN it falls back and the notifier reads the decision's event
    summary = scaler.reconcile_cluster(CLUSTER_ID)
    (event,) = published.events
    entry = event.to_entry("bus")
    notice = parse_notice_event(
        {
            "version": "0",
            "id": "e-1",
            "source": entry["Source"],
            "detail-type": entry["DetailType"],
            "account": "123456789012",
            "time": NOW.isoformat(),
            "region": "eu-west-1",
            "resources": [],
            "detail": __import__("json").loads(entry["Detail"]),
        }
    )
    # THEN the notice is a Spot fallback (not a hold), a warning, titled with the shortage and what was done
    assert summary.reason is ReasonCode.SCALE_SPOT_FALLBACK
    assert getattr(notice, "kind", None) is NoticeKind.SPOT_FALLBACK, notice
    assert notice.title == (  # type: ignore[union-attr]
        f"Spot short on EMR cluster {CLUSTER_ID}: fleet 'task-fleet' (if-TASK1) was 16 Spot unit(s) short "
        "for 20 min; asked On-Demand for 16 unit(s) within its cap of 20 (On-Demand 0 → 16, Spot 24 → 8)"
    )
    assert "Autoscaler is holding" not in notice.title  # type: ignore[union-attr]


def _reclaiming_fleet() -> tuple[FakeEmr, FakeFleets]:
    """A fleet cluster (TASK fleet of 8 Spot units) running the Spot instance i-0b662ef9931388ba0 (m5.xlarge)."""
    from emr_autoscaler.kernel.models import InstanceLocation

    emr, fleets = FakeEmr(), FakeFleets()
    cluster = fleet_snapshot()
    emr.add(cluster)
    fleets.fleets[CLUSTER_ID] = cluster.fleets
    fleets.instances.append(
        InstanceLocation(
            cluster_id=CLUSTER_ID, ec2_instance_id="i-0b662ef9931388ba0", fleet_id="if-TASK1", instance_type="m5.xlarge"
        )
    )
    return emr, fleets


def test_spot_interruption_is_located_and_replaced_once() -> None:
    # GIVEN a busy fleet cluster and EC2's warning for one of its Spot instances, delivered twice
    from emr_autoscaler.scaling.service import handle_trigger
    from emr_autoscaler.scaling.triggers import SpotInterruption

    emr, fleets = _reclaiming_fleet()
    scaler, _published, store = _scaler(emr, fleets)
    warning = SpotInterruption(event_id="e-1", ec2_instance_id="i-0b662ef9931388ba0")
    # WHEN the scaler handles it twice
    first = handle_trigger(warning, scaler)
    second = handle_trigger(warning, scaler)
    # THEN the instance's units are asked for once, and the interruption counted once
    assert first["decisions"][0]["reason"] == "SCALE_REPLACE_INTERRUPTED"
    assert second["decisions"][0]["reason"] == "HOLD_INTERRUPTION_NOT_REPLACED"
    assert len(fleets.resizes) == 1
    assert [(c.instance_type, c.count) for c in store.load(CLUSTER_ID).interruptions] == [("m5.xlarge", 1)]


def test_spot_interruption_of_an_instance_ec2_names_no_cluster_of_is_ignored_without_listing_any() -> None:
    # GIVEN a warning for an instance EC2 names no EMR cluster of (a plain EC2 Spot instance of the account), and
    # three registered clusters
    from emr_autoscaler.scaling.service import handle_trigger
    from emr_autoscaler.scaling.triggers import SpotInterruption

    emr, fleets = FakeEmr(), FakeFleets()
    for n in range(3):
        emr.add(fleet_snapshot().model_copy(update={"cluster_id": f"j-FLEET{n}"}))
    instances = FakeInstanceDirectory()
    scaler, _published, _store = _scaler(emr, fleets, instances)
    # WHEN handled
    result = handle_trigger(SpotInterruption(event_id="e-2", ec2_instance_id="i-0123456789abcdef0"), scaler)
    # THEN EC2 was asked once, it is ignored with the reason, no cluster's instances were listed, nothing resized
    assert instances.asked == ["i-0123456789abcdef0"]
    assert result["ignored"] is True
    assert "i-0123456789abcdef0" in result["reason"]
    assert "no EMR instance" in result["reason"]
    assert fleets.located == []
    assert not fleets.resizes


def test_spot_interruption_of_a_cluster_that_is_not_registered_is_ignored_without_listing_it() -> None:
    # GIVEN a warning for an instance of an EMR cluster the scaler does not evaluate (not registered: not opted in)
    from emr_autoscaler.kernel.models import RegisteredCluster
    from emr_autoscaler.scaling.service import handle_trigger
    from emr_autoscaler.scaling.triggers import SpotInterruption
    from tests.unit.test_fanout import InMemoryRegistry

    emr, fleets = _reclaiming_fleet()
    registry = InMemoryRegistry()
    registry.entries["j-OTHER"] = RegisteredCluster(cluster_id="j-OTHER", name="o", state="RUNNING", registered_at=NOW)
    scaler, _published, _store = _scaler(emr, fleets)
    scaler.registry = registry
    # WHEN handled
    result = handle_trigger(SpotInterruption(event_id="e-3", ec2_instance_id="i-0b662ef9931388ba0"), scaler)
    # THEN it is ignored, naming the cluster, and the cluster's instances were never listed
    assert result["ignored"] is True
    assert CLUSTER_ID in result["reason"]
    assert "not registered" in result["reason"]
    assert fleets.located == []
    assert not fleets.resizes


@pytest.mark.parametrize("code", ["RequestLimitExceeded", "UnauthorizedOperation"])
def test_spot_interruption_ec2_cannot_resolve_is_ignored_and_logged_never_failed(
    code: str, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN EC2's DescribeInstances throttled past botocore's retries, or refused (the role lacks the permission)
    from emr_autoscaler.scaling.ports import InstanceUnresolvedError
    from emr_autoscaler.scaling.service import handle_trigger
    from emr_autoscaler.scaling.triggers import SpotInterruption

    emr, fleets = _reclaiming_fleet()
    instances = FakeInstanceDirectory(error=InstanceUnresolvedError(f"EC2 DescribeInstances failed: {code}"))
    scaler, _published, _store = _scaler(emr, fleets, instances)
    # WHEN handled
    with caplog.at_level(logging.WARNING):
        result = handle_trigger(SpotInterruption(event_id="e-4", ec2_instance_id="i-0b662ef9931388ba0"), scaler)
    # THEN the trigger does not fail (no retry, no dead letter for what may be no EMR instance at all): it is
    # ignored with the cause, logged as a warning, and no cluster was listed
    assert result["ignored"] is True
    assert code in result["reason"]
    assert code in caplog.text
    assert fleets.located == []


def test_spot_interruption_of_a_registered_cluster_lists_that_cluster_only_and_its_errors_still_retry() -> None:
    # GIVEN three registered clusters, EC2 naming the second as the instance's, and its ListInstances throttled
    from emr_autoscaler.scaling.service import handle_trigger
    from emr_autoscaler.scaling.triggers import SpotInterruption

    emr, fleets = _reclaiming_fleet()
    for n in range(2):
        emr.add(fleet_snapshot().model_copy(update={"cluster_id": f"j-FLEET{n}"}))
    scaler, _published, _store = _scaler(emr, fleets)
    warning = SpotInterruption(event_id="e-5", ec2_instance_id="i-0b662ef9931388ba0")
    # WHEN handled, THEN only its cluster's instances are listed, and it is replaced
    assert handle_trigger(warning, scaler)["decisions"][0]["reason"] == "SCALE_REPLACE_INTERRUPTED"
    assert fleets.located == [CLUSTER_ID]

    # AND WHEN that cluster's ListInstances fails, THEN the trigger fails as before (an opted-in cluster's
    # interruption is worth EventBridge's retry)
    def throttled(cluster_id: str, ec2_instance_id: str) -> None:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "ListInstances")

    fleets.locate_instance = throttled  # type: ignore[method-assign,assignment]
    with pytest.raises(ClientError):
        handle_trigger(warning, scaler)


def test_a_spot_interruption_is_enqueued_with_its_instance_and_replaced_by_the_consumer() -> None:
    # GIVEN a busy fleet cluster behind the evaluation queue, and EC2's warning for one of its Spot instances
    from emr_autoscaler.kernel.models import RegisteredCluster
    from emr_autoscaler.scaling.service import handle_trigger
    from emr_autoscaler.scaling.triggers import SpotInterruption
    from tests.unit.test_fanout import InMemoryRegistry, RecordingQueue, _batch
    from tests.unit.test_service import make_scaler

    emr, fleets = _reclaiming_fleet()
    scaler, emr, _store, _sink = make_scaler(emr=emr)
    queue, registry = RecordingQueue(), InMemoryRegistry()
    registry.entries[CLUSTER_ID] = RegisteredCluster(
        cluster_id=CLUSTER_ID, name="c", state="RUNNING", registered_at=NOW
    )
    scaler.queue, scaler.registry, scaler.fleets = queue, registry, fleets
    scaler.instances = FakeInstanceDirectory({"i-0b662ef9931388ba0": CLUSTER_ID})
    warning = SpotInterruption(event_id="e-9", ec2_instance_id="i-0b662ef9931388ba0")
    # WHEN the warning arrives (twice) and the queue's batch is consumed
    handle_trigger(warning, scaler)
    handle_trigger(warning, scaler)
    response = handle_trigger(_batch(*((r, r.cluster_id) for r in queue.sent)), scaler)
    # THEN one request was enqueued, naming the instance, and its evaluation replaced the node's units
    assert [(r.cluster_id, r.ec2_instance_id) for r in queue.sent] == [(CLUSTER_ID, "i-0b662ef9931388ba0")]
    assert [d["reason"] for d in response["decisions"]] == ["SCALE_REPLACE_INTERRUPTED"]
    assert len(fleets.resizes) == 1


def test_emr_node_loss_goes_the_way_of_the_warning_counted_once_per_instance() -> None:
    # GIVEN a busy fleet cluster whose Spot instance EC2 warned of, and which EMR then reports lost (twice)
    from emr_autoscaler.scaling.service import handle_trigger
    from emr_autoscaler.scaling.triggers import NodeLoss, SpotInterruption

    emr, fleets = _reclaiming_fleet()
    fleets.lost.append(fleets.instances[0])
    scaler, _published, store = _scaler(emr, fleets)
    handle_trigger(SpotInterruption(event_id="e-1", ec2_instance_id="i-0b662ef9931388ba0"), scaler)
    loss = NodeLoss(event_id="e-2", cluster_id=CLUSTER_ID, owner_id="if-TASK1", cause="node loss")
    # WHEN EMR's notification is handled twice
    reasons = [handle_trigger(loss, scaler)["decisions"][0]["reason"] for _ in range(2)]
    # THEN the instance was replaced once (by the warning, not again by the loss) and counted once
    assert "SCALE_REPLACE_INTERRUPTED" not in reasons
    replacements = store.load(CLUSTER_ID).replacements
    assert [r.ec2_instance_id for r in replacements] == ["i-0b662ef9931388ba0"]
    assert [(c.instance_type, c.count) for c in store.load(CLUSTER_ID).interruptions] == [("m5.xlarge", 1)]


def test_emr_node_loss_without_a_warning_counts_the_lost_instance() -> None:
    # GIVEN a fleet cluster that lost an m5.2xlarge Spot instance EC2's warning never announced
    from emr_autoscaler.kernel.models import InstanceLocation
    from emr_autoscaler.scaling.service import handle_trigger
    from emr_autoscaler.scaling.triggers import NodeLoss

    emr, fleets = _reclaiming_fleet()
    fleets.lost.append(
        InstanceLocation(
            cluster_id=CLUSTER_ID,
            ec2_instance_id="i-0aaaaaaaaaaaaaaaa",
            fleet_id="if-TASK1",
            instance_type="m5.2xlarge",
        )
    )
    scaler, _published, store = _scaler(emr, fleets)
    # WHEN EMR's notification is handled
    result = handle_trigger(NodeLoss(event_id="e-3", cluster_id=CLUSTER_ID, owner_id="if-TASK1", cause="x"), scaler)
    # THEN the cluster was evaluated and the loss counted per type
    assert result["decisions"]
    assert [(c.instance_type, c.count) for c in store.load(CLUSTER_ID).interruptions] == [("m5.2xlarge", 1)]


def test_emr_saying_capacity_is_short_starts_the_fallback_without_waiting_the_timeout() -> None:
    # GIVEN a fleet cluster whose Spot target (24 units) has 8 provisioned, first seen short just now
    from emr_autoscaler.scaling.service import handle_trigger
    from emr_autoscaler.scaling.triggers import ClusterTrigger, parse_scaler_trigger
    from tests.unit.domain_builders import fleet

    def fleet_cluster() -> tuple[Scaler, FakeFleets]:
        emr, fleets = FakeEmr(), FakeFleets()
        cluster = fleet_snapshot(fleet(spot=24, provisioned_spot=8))
        emr.add(cluster)
        fleets.fleets[CLUSTER_ID] = cluster.fleets
        return _scaler(emr, fleets)[0], fleets

    waiting, _ = fleet_cluster()
    # WHEN only the tick sees it, the shortage clock starts: no fallback yet (15 minutes by default)
    assert waiting.reconcile_cluster(CLUSTER_ID).reason is not ReasonCode.SCALE_SPOT_FALLBACK
    # WHEN EMR's insufficient-capacity event for that fleet arrives instead
    told, fleets = fleet_cluster()
    event = {
        "version": "0",
        "id": "e-ice",
        "detail-type": "EMR Instance Fleet Provisioning",
        "source": "aws.emr",
        "account": "123456789012",
        "time": NOW.isoformat(),
        "region": "eu-west-1",
        "resources": [],
        "detail": {
            "severity": "WARNING",
            "eventCode": "EC2 provisioning - Insufficient Instance Capacity",
            "instanceFleetId": "if-TASK1",
            "instanceFleetType": "TASK",
            "clusterId": CLUSTER_ID,
            "message": "We are not able to resize your Amazon EMR cluster ...",
        },
    }
    trigger = parse_scaler_trigger(event, "emr-autoscaler-")
    assert isinstance(trigger, ClusterTrigger)
    assert trigger.short_of == "if-TASK1"
    result = handle_trigger(trigger, told)
    # THEN this evaluation falls back to On-Demand at once, within the cap
    assert result["decisions"][0]["reason"] == "SCALE_SPOT_FALLBACK", result
    assert "EMR reports insufficient capacity" in result["decisions"][0]["explanation"]
    ((_, (command,)),) = fleets.resizes
    assert 0 < command.to_on_demand <= 20


def test_a_shortage_event_for_a_fleet_whose_spot_has_arrived_changes_nothing() -> None:
    from tests.unit.domain_builders import fleet

    emr, fleets = FakeEmr(), FakeFleets()
    cluster = fleet_snapshot(fleet(spot=8, provisioned_spot=8))
    emr.add(cluster)
    fleets.fleets[CLUSTER_ID] = cluster.fleets
    scaler = _scaler(emr, fleets)[0]
    summary = scaler.reconcile_cluster(CLUSTER_ID, short_of="if-TASK1")
    assert summary.reason is not ReasonCode.SCALE_SPOT_FALLBACK

"""DynamoStateStore under moto: round trip, conditional writes, audit records with TTL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from emr_autoscaler.adapters.aws.dynamodb.state import DynamoStateStore
from emr_autoscaler.kernel.models import ManagedScalingLimits, ManagedScalingUnit
from emr_autoscaler.scaling.domain.decisions import (
    FleetMemory,
    InterruptionCount,
    ManagedScalingMemory,
    Outcome,
    ReasonCode,
    Replacement,
    ResizePlan,
    ScalingState,
)
from emr_autoscaler.settings import Settings
from emr_autoscaler_dev.sandbox.provision import provision

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


@pytest.fixture
def store() -> Iterator[DynamoStateStore]:
    with mock_aws():
        session = boto3.Session(region_name="eu-west-1")
        settings = Settings(state_table="state")
        provision(session, settings, "version: 1\n")
        yield DynamoStateStore(session.client("dynamodb"), "state", audit_ttl_days=7)


def test_unknown_cluster_loads_version_zero(store: DynamoStateStore) -> None:
    # GIVEN nothing stored, WHEN loaded, THEN a fresh state
    assert store.load("j-1") == ScalingState(cluster_id="j-1")


def test_save_round_trips_and_bumps_version(store: DynamoStateStore) -> None:
    # GIVEN a state with every field set
    state = ScalingState(
        cluster_id="j-1",
        last_scale_out_at=NOW,
        last_scale_in_at=NOW - timedelta(hours=1),
        low_utilization_since=NOW - timedelta(minutes=3),
        last_decision_id="j-1:1",
        last_pending_mb=12288,
        last_read_at=NOW - timedelta(minutes=1),
        backlog_kept=0.375,
        in_flight_since=NOW - timedelta(minutes=4),
        start_delay_s=412.5,
        demand_peak_mb=98304,
        demand_peak_at=NOW - timedelta(minutes=2),
        fleets=(
            FleetMemory(
                fleet_id="if-TASK1",
                spot_short_since=NOW - timedelta(minutes=20),
                fallback_units=16,
                fallback_at=NOW - timedelta(minutes=5),
                retry_units=8,
            ),
        ),
        replacements=(
            Replacement(
                ec2_instance_id="i-0abc1234def567890",
                fleet_id="if-TASK1",
                market="SPOT",
                units=4,
                gone_after=NOW + timedelta(minutes=2),
            ),
        ),
        interruptions=(InterruptionCount(instance_type="m5.xlarge", count=3),),
        managed_scaling=ManagedScalingMemory(
            written=ManagedScalingLimits(
                unit_type=ManagedScalingUnit.VCPU, minimum_units=8, maximum_units=36, maximum_core_units=16
            ),
            team=ManagedScalingLimits(
                unit_type=ManagedScalingUnit.VCPU,
                minimum_units=8,
                maximum_units=80,
                maximum_core_units=16,
                scaling_strategy="ADVANCED",
                utilization_performance_index=75,
            ),
        ),
    )
    # WHEN saved on version 0
    assert store.save(state, expected_version=0)
    # THEN it loads back as version 1
    assert store.load("j-1") == state.model_copy(update={"version": 1})


def test_second_writer_on_the_same_version_loses(store: DynamoStateStore) -> None:
    # GIVEN two evaluations that both read version 0
    first = ScalingState(cluster_id="j-1", last_scale_out_at=NOW)
    second = ScalingState(cluster_id="j-1", last_scale_in_at=NOW)
    # WHEN both try to write
    won_first = store.save(first, expected_version=0)
    won_second = store.save(second, expected_version=0)
    # THEN only the first wins, and its state stands
    assert (won_first, won_second) == (True, False)
    assert store.load("j-1").last_scale_out_at == NOW


def test_record_writes_audit_with_ttl(store: DynamoStateStore) -> None:
    # GIVEN a decision
    plan = ResizePlan(
        cluster_id="j-1",
        decided_at=NOW,
        reason=ReasonCode.HOLD_STABILIZING,
        explanation="Holding: utilization low for 60 s.",
        next_state=ScalingState(cluster_id="j-1", last_decision_id="j-1:1"),
    )
    # WHEN recorded
    store.record(plan, Outcome.HELD)
    # THEN it can be read back, newest first, and expires after the TTL
    records = store.decisions("j-1")
    assert records[0]["reason"] == "HOLD_STABILIZING"
    assert records[0]["outcome"] == "held"
    raw: Any = store._client.scan(TableName="state")["Items"]
    expiry = [int(i["expires_at"]["N"]) for i in raw if "expires_at" in i]
    assert expiry == [int((NOW + timedelta(days=7)).timestamp())]

"""DynamoLineageStore under moto: one claim per (original step, attempt), takeover of stale claims, lineage."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from emr_autoscaler.adapters.aws.dynamodb.lineage import DynamoLineageStore
from emr_autoscaler.settings import Settings
from emr_autoscaler.steps.domain.models import GiveUp, RetryStep, StepLineage, StepRetryReason
from emr_autoscaler.steps.ports import ClaimOutcome
from emr_autoscaler_dev.sandbox.provision import provision

T0 = datetime(2026, 3, 4, 3, 4, 41, tzinfo=UTC)
RETRY = RetryStep(
    cluster_id="j-1",
    failed_step_id="s-1",
    original_step_id="s-1",
    step_name="aggregate",
    attempt=1,
    max_attempts=2,
    delay_s=120,
    not_before=T0,
    reason=StepRetryReason.RETRY_TRANSIENT_FAILURE,
    explanation="Restarting.",
)


@pytest.fixture
def store() -> Iterator[DynamoLineageStore]:
    with mock_aws():
        session = boto3.Session(region_name="eu-west-1")
        provision(session, Settings(state_table="t", config_parameter="/c"), "version: 1\n")
        yield DynamoLineageStore(session.client("dynamodb"), "t")


def test_claim_once_then_added_then_redelivery_skips(store: DynamoLineageStore) -> None:
    # GIVEN a fresh restart, WHEN claimed twice, THEN the second sees it in progress
    assert store.claim(RETRY, T0, 120) == (ClaimOutcome.CLAIMED, None)
    assert store.claim(RETRY, T0 + timedelta(seconds=5), 120) == (ClaimOutcome.IN_PROGRESS, None)
    # WHEN recorded added, THEN later claims see it added, and the new step maps to the original
    lineage = StepLineage(cluster_id="j-1", original_step_id="s-1", original_name="aggregate", attempt=1)
    store.record_added(RETRY, [("s-2", lineage)], T0)
    assert store.claim(RETRY, T0 + timedelta(hours=1), 120) == (ClaimOutcome.ALREADY_ADDED, None)
    assert store.lineage("j-1", "s-2") == lineage
    assert store.lineage("j-1", "s-1") is None


def test_stale_claim_is_taken_over_and_release_frees_it(store: DynamoLineageStore) -> None:
    # GIVEN a claim left 10 minutes ago by an invocation that died
    store.claim(RETRY, T0, 120)
    # WHEN claimed after the lease, THEN taken over with the old claim's time
    later = T0 + timedelta(minutes=10)
    assert store.claim(RETRY, later, 120) == (ClaimOutcome.TAKEN_OVER, T0)
    # WHEN the old owner releases, THEN nothing happens (not its claim); the new owner's release frees it
    store.release(RETRY, T0)
    assert store.claim(RETRY, later, 120)[0] is ClaimOutcome.IN_PROGRESS
    store.release(RETRY, later)
    assert store.claim(RETRY, later, 120) == (ClaimOutcome.CLAIMED, None)


def test_given_up_is_final(store: DynamoLineageStore) -> None:
    # GIVEN a restart given up (cluster terminated), WHEN redelivered, THEN it is not claimed again
    decision = GiveUp(
        cluster_id="j-1",
        step_id="s-1",
        step_name="aggregate",
        reason=StepRetryReason.GIVE_UP_CLUSTER_TERMINATING,
        explanation="gone",
    )
    store.claim(RETRY, T0, 120)
    store.record_given_up(RETRY, decision, T0)
    assert store.claim(RETRY, T0 + timedelta(hours=1), 120) == (ClaimOutcome.ALREADY_GIVEN_UP, None)


def test_many_followers_are_all_mapped(store: DynamoLineageStore) -> None:
    # GIVEN a restart whose add mapped 150 steps (beyond one transaction's 100 items)
    added = [
        (f"s-N{i}", StepLineage(cluster_id="j-1", original_step_id=f"s-O{i}", original_name="x (retry 1/2)", attempt=1))
        for i in range(150)
    ]
    store.claim(RETRY, T0, 120)
    # WHEN recorded, THEN every one maps back
    store.record_added(RETRY, added, T0)
    assert all(store.lineage("j-1", step_id) == lineage for step_id, lineage in added)

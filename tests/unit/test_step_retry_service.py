"""StepRetrier with fakes: failure -> schedule -> add once, with followers; refusals; bad input; faults."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from emr_autoscaler.kernel.events import AppDetailType
from emr_autoscaler.kernel.models import ClusterSnapshot, ClusterState
from emr_autoscaler.kernel.notices import Severity
from emr_autoscaler.steps.domain.evidence import Evidence, EvidenceSource, EvidenceState
from emr_autoscaler.steps.domain.models import FailedStep, FailureDetails, StepConfig
from emr_autoscaler.steps.ports import ClaimInProgressError
from emr_autoscaler.steps.service import StepRetrier, handle_step_retry_invocation
from emr_autoscaler.steps.triggers import StepFailure, parse_step_failure
from tests.conftest import load_event
from tests.fakes import RecordingPublisher, StaticConfig
from tests.step_fakes import (
    FakeEmrSteps,
    FakeRetryQueue,
    FakeStepLogs,
    FakeYarnApplications,
    InMemoryLineageStore,
    LoggingStepRetrySink,
    NoGuard,
)

T0 = datetime(2026, 3, 4, 3, 2, 41, tzinfo=UTC)
CID = "j-2AXXXXXXGAPLF"
SID = "s-1K4B2GJ7W9QXZ"


def _config(name: str, action: str = "CANCEL_AND_WAIT") -> StepConfig:
    return StepConfig(
        name=name,
        action_on_failure=action,
        jar="command-runner.jar",
        args=("spark-submit", f"{name}.py"),
        main_class=None,
        properties={"k": "v"},
    )


def _failed(
    step_id: str = SID, name: str = "nightly-aggregate", reason: str = "Container released on a *lost* node"
) -> FailedStep:
    return FailedStep(
        cluster_id=CID,
        step_id=step_id,
        name=name,
        action_on_failure="CANCEL_AND_WAIT",
        failure=FailureDetails(reason=reason, log_file=f"s3://logs/{CID}/steps/{step_id}/"),
        config=_config(name),
        created_at=T0 - timedelta(hours=1),
        ended_at=T0,
    )


@dataclass
class World:
    emr: FakeEmrSteps = field(default_factory=FakeEmrSteps)
    lineage: InMemoryLineageStore = field(default_factory=InMemoryLineageStore)
    queue: FakeRetryQueue = field(default_factory=FakeRetryQueue)
    events: RecordingPublisher = field(default_factory=RecordingPublisher)
    config: StaticConfig = field(default_factory=StaticConfig)
    logs: FakeStepLogs = field(default_factory=FakeStepLogs)
    yarn: FakeYarnApplications = field(default_factory=FakeYarnApplications)
    now: list[datetime] = field(default_factory=lambda: [T0])

    def retrier(self) -> StepRetrier:
        return StepRetrier(
            emr=self.emr,
            lineage=self.lineage,
            queue=self.queue,
            config=self.config,
            clock=lambda: self.now[0],
            jitter=lambda: 0.0,
            events=self.events,
            sink=LoggingStepRetrySink(),
            guard=NoGuard(),
            logs=self.logs,
            yarn=self.yarn,
        )


@pytest.fixture
def world() -> World:
    w = World()
    w.emr.clusters[CID] = ClusterSnapshot(
        cluster_id=CID,
        name="etl-nightly",
        state=ClusterState.WAITING,
        tags={"emr-autoscaler:enabled": "true"},
        read_at=T0,
    )
    w.emr.steps[SID] = _failed()
    w.emr.followers[SID] = (("s-F1", _config("load")), ("s-F2", _config("publish", "CONTINUE")))
    return w


def _failure(step_id: str = SID) -> StepFailure:
    return StepFailure(
        event_id="e-1", cluster_id=CID, step_id=step_id, step_name="x", action_on_failure="CANCEL_AND_WAIT"
    )


def test_transient_failure_is_scheduled_then_added_once_with_its_followers(world: World) -> None:
    # GIVEN a step failed on a lost node, with two steps its failure cancelled
    retrier = world.retrier()
    # WHEN the FAILED event is handled
    scheduled = retrier.handle_failure(_failure())
    # THEN restart 1/2 is queued with the 2-minute backoff, and the bus hears of it
    assert (scheduled["outcome"], scheduled["reason"], scheduled["delay_s"]) == (
        "scheduled",
        "RETRY_TRANSIENT_FAILURE",
        120,
    )
    assert len(world.queue.messages) == 1
    # WHEN the backoff has passed and the message is delivered twice
    world.now[0] = T0 + timedelta(seconds=120)
    first = retrier.execute_retry(world.queue.messages[0])
    again = retrier.execute_retry(world.queue.messages[0])
    # THEN the step and its followers were added once, in order, with identical config and the retry name
    assert first["outcome"] == "added"
    assert again["reason"] == "SKIPPED_ALREADY_HANDLED"
    assert len(world.emr.added) == 1
    _, configs = world.emr.added[0]
    assert [c.name for c in configs] == ["nightly-aggregate (retry 1/2)", "load", "publish"]
    assert configs[0].model_copy(update={"name": "nightly-aggregate"}) == _config("nightly-aggregate")
    assert configs[2].action_on_failure == "CONTINUE"
    # ... the new step maps back to the original at attempt 1
    assert world.lineage.lineage(CID, first["added_step_ids"][0]).attempt == 1  # type: ignore[union-attr]
    # ... and the bus got SCHEDULED then ADDED, both info, with the log location
    assert [e.detail_type for e in world.events.events] == [
        AppDetailType.STEP_RETRY_SCHEDULED,
        AppDetailType.STEP_RETRY_ADDED,
    ]
    assert world.events.events[0].detail.log_location == f"s3://logs/{CID}/steps/{SID}/"
    assert world.events.events[1].detail.severity is Severity.INFO


def test_retry_that_fails_maps_to_its_original_until_the_budget_is_spent(world: World) -> None:
    # GIVEN restart 1 of the original was added and failed the same way
    retrier = world.retrier()
    retrier.handle_failure(_failure())
    added = retrier.execute_retry(world.queue.messages[0])["added_step_ids"][0]
    world.emr.steps[added] = _failed(added, "nightly-aggregate (retry 1/2)")
    # WHEN its FAILED event is handled
    second = retrier.handle_failure(_failure(added))
    # THEN restart 2/2 of the ORIGINAL is queued after 4 minutes
    assert (second["attempt"], second["delay_s"]) == (2, 240)
    assert world.queue.messages[1].retry.original_step_id == SID
    assert world.queue.messages[1].retry.retry_name == "nightly-aggregate (retry 2/2)"
    # WHEN restart 2 is added and fails too
    added2 = retrier.execute_retry(world.queue.messages[1])["added_step_ids"][0]
    world.emr.steps[added2] = _failed(added2, "nightly-aggregate (retry 2/2)")
    last = retrier.handle_failure(_failure(added2))
    # THEN the budget is spent: given up, critical, with the log
    assert last["reason"] == "GIVE_UP_ATTEMPTS_EXHAUSTED"
    assert world.events.events[-1].detail.severity is Severity.CRITICAL
    assert world.events.events[-1].detail_type is AppDetailType.STEP_RETRY_GIVEN_UP


def test_permanent_failure_is_reported_at_once_and_not_queued(world: World) -> None:
    # GIVEN a step that failed on a missing class
    world.emr.steps[SID] = _failed(reason="java.lang.ClassNotFoundException: com.acme.Main")
    # WHEN handled
    result = world.retrier().handle_failure(_failure())
    # THEN nothing is queued; a critical notice names the reason and the log
    assert result["reason"] == "GIVE_UP_PERMANENT_FAILURE"
    assert world.queue.messages == []
    detail = world.events.events[0].detail
    assert (detail.severity, detail.log_location) == (Severity.CRITICAL, f"s3://logs/{CID}/steps/{SID}/")


def test_cluster_terminated_during_backoff_gives_up_without_adding(world: World) -> None:
    # GIVEN a scheduled restart, and the cluster terminated meanwhile
    retrier = world.retrier()
    retrier.handle_failure(_failure())
    world.emr.clusters[CID] = world.emr.clusters[CID].model_copy(update={"state": ClusterState.TERMINATED})
    # WHEN the message is delivered (twice)
    result = retrier.execute_retry(world.queue.messages[0])
    again = retrier.execute_retry(world.queue.messages[0])
    # THEN nothing is added; one warning notice; the redelivery is skipped quietly
    assert result["reason"] == "GIVE_UP_CLUSTER_TERMINATING"
    assert again["reason"] == "SKIPPED_ALREADY_HANDLED"
    assert world.emr.added == []
    assert [e.detail.severity for e in world.events.events[1:]] == [Severity.WARNING]


def test_concurrent_delivery_while_adding_raises_for_redelivery(world: World) -> None:
    # GIVEN another invocation holds the claim right now
    retrier = world.retrier()
    retrier.handle_failure(_failure())
    message = world.queue.messages[0]
    world.lineage.claim(message.retry, T0, 120)
    # WHEN this delivery runs, THEN it raises (SQS redelivers it later) and adds nothing
    with pytest.raises(ClaimInProgressError):
        retrier.execute_retry(message)
    assert world.emr.added == []


def test_claim_of_a_dead_invocation_is_taken_over_and_a_lost_add_is_recovered(world: World) -> None:
    # GIVEN an invocation claimed and added the restart, then died before recording it (claim 10 min old)
    retrier = world.retrier()
    retrier.handle_failure(_failure())
    message = world.queue.messages[0]
    world.lineage.claim(message.retry, T0 - timedelta(minutes=10), 120)
    world.emr.added.append((CID, (message.retry_config,)))
    # WHEN the message is redelivered
    result = retrier.execute_retry(message)
    # THEN the step found is recorded, and not added a second time
    assert result["reason"] == "SKIPPED_ALREADY_HANDLED"
    assert len(world.emr.added) == 1
    assert world.lineage.lineage(CID, "s-NEW0") is not None


def test_failed_add_releases_the_claim_so_the_redelivery_adds(world: World) -> None:
    # GIVEN AddJobFlowSteps fails once (after botocore's retries)
    retrier = world.retrier()
    retrier.handle_failure(_failure())
    world.emr.next_add_error = RuntimeError("ThrottlingException")
    # WHEN delivered, THEN it raises; the redelivery adds once
    with pytest.raises(RuntimeError):
        retrier.execute_retry(world.queue.messages[0])
    assert retrier.execute_retry(world.queue.messages[0])["outcome"] == "added"
    assert len(world.emr.added) == 1


@pytest.mark.parametrize("missing", ["cluster", "step"])
def test_unknown_cluster_or_step_is_logged_and_ignored(world: World, missing: str) -> None:
    # GIVEN an event for a cluster or step EMR does not know
    if missing == "cluster":
        world.emr.clusters.clear()
    else:
        world.emr.steps.clear()
    # WHEN handled, THEN no exception, no action, no notice
    result = world.retrier().handle_failure(_failure())
    assert (result["outcome"], result["reason"]) == ("ignored", "IGNORED_UNKNOWN_STEP")
    assert world.queue.messages == []
    assert world.events.events == []


def test_invalid_configuration_gives_up_with_a_critical_notice(world: World) -> None:
    # GIVEN no valid configuration was ever read
    world.config.document = None
    # WHEN a failure is handled, THEN it gives up and says why
    result = world.retrier().handle_failure(_failure())
    assert result["reason"] == "GIVE_UP_CONFIG_INVALID"
    assert world.events.events[0].detail.severity is Severity.CRITICAL


def test_not_opted_in_cluster_costs_one_call_and_no_notice(world: World) -> None:
    # GIVEN a cluster without the opt-in tag
    world.emr.clusters[CID] = world.emr.clusters[CID].model_copy(update={"tags": {}})
    # WHEN handled, THEN skipped after DescribeCluster alone, quietly
    result = world.retrier().handle_failure(_failure())
    assert result["reason"] == "SKIPPED_CLUSTER_NOT_OPTED_IN"
    assert world.emr.calls == ["cluster"]
    assert world.events.events == []


def test_a_lost_notice_does_not_fail_the_restart(world: World) -> None:
    # GIVEN a bus that refuses events
    class Refusing(RecordingPublisher):
        def publish(self, events: Any) -> None:
            raise RuntimeError("bus down")

    world.events = Refusing()
    # WHEN a failure is handled, THEN the restart is still queued
    assert world.retrier().handle_failure(_failure())["outcome"] == "scheduled"
    assert len(world.queue.messages) == 1


def test_invocation_dispatch_ignores_other_events_and_batches_sqs(world: World) -> None:
    # GIVEN the sample events
    retrier = world.retrier()
    # WHEN a non-FAILED step event arrives, THEN it is ignored with a reason
    event = load_event("step_failed.json")
    event["detail"]["state"] = "COMPLETED"
    assert handle_step_retry_invocation(event, None, retrier)["ignored"] is True
    assert parse_step_failure([1, 2])
    # WHEN the SQS sample arrives with a broken record next to a good one, THEN only the broken one is reported
    sqs = load_event("step_retry_due.json")
    good = sqs["Records"][0]
    broken = {**good, "messageId": "broken", "body": "{not json"}
    response = handle_step_retry_invocation({"Records": [good, broken]}, None, retrier)
    assert response == {"batchItemFailures": [{"itemIdentifier": "broken"}]}
    assert len(world.emr.added) == 1


APP = "application_1772589600000_0007"
STDERR = f"s3://logs/{CID}/steps/{SID}/stderr.gz"


def test_failure_details_that_classify_read_no_other_evidence(world: World) -> None:
    # GIVEN FailureDetails that say a node was lost
    world.retrier().handle_failure(_failure())
    # THEN neither the logs nor the ResourceManager were asked
    assert (world.logs.reads, world.yarn.asked) == (0, [])


def test_unknown_error_waits_for_late_logs_then_restarts_once_from_the_diagnostics(world: World) -> None:
    # GIVEN "Unknown Error." and logs EMR has not archived yet
    world.emr.steps[SID] = _failed(reason="Unknown Error.")
    world.logs.evidence[SID] = (
        Evidence(source=EvidenceSource.STEP_LOG, field="log", state=EvidenceState.NOT_YET, location=STDERR),
    )
    retrier = world.retrier()
    # WHEN the FAILED event is handled
    waiting = retrier.handle_failure(_failure())
    # THEN a new look is queued after the wait for evidence, no restart, and no notice yet
    assert (waiting["outcome"], waiting["reason"], waiting["delay_s"]) == ("waiting", "WAIT_FOR_EVIDENCE", 300)
    assert (len(world.queue.rechecks), world.queue.messages, world.events.events) == (1, [], [])
    # WHEN the logs arrived (naming the YARN application, whose diagnostics say the node was lost) and the recheck
    # is delivered twice
    world.logs.evidence[SID] = (
        Evidence(
            source=EvidenceSource.STEP_LOG, field="log", location=STDERR, text=f"INFO Submitted application {APP}"
        ),
    )
    world.yarn.evidence[APP] = Evidence(
        source=EvidenceSource.YARN,
        field="diagnostics",
        location=APP,
        text="ExecutorLostFailure (executor 7 exited caused by one of the running tasks) Reason: Container marked "
        "as failed: container_1772589600000_0007_01_000008 on host: ip-10-0-1-12. Exit status: -100. "
        "Diagnostics: Container released on a *lost* node.",
    )
    world.now[0] = T0 + timedelta(seconds=300)
    first = retrier.recheck(world.queue.rechecks[0])
    retrier.recheck(world.queue.rechecks[0])
    # THEN the restart is scheduled (from the diagnostics of the application the log named) ...
    assert (first["outcome"], first["reason"]) == ("scheduled", "RETRY_TRANSIENT_FAILURE")
    assert world.yarn.asked[-1] == (APP,)
    notice = world.events.events[0].detail
    assert notice.data["evidence_source"] == "yarn"
    assert "Container released on a *lost* node" in notice.data["evidence_line"]
    # ... and however often it was scheduled, it is added once
    world.now[0] = T0 + timedelta(seconds=600)
    results = [retrier.execute_retry(m) for m in world.queue.messages]
    assert [r["outcome"] for r in results].count("added") == 1
    assert len(world.emr.added) == 1


def test_a_recheck_for_a_cluster_emr_forgot_is_ignored(world: World) -> None:
    world.emr.steps[SID] = _failed(reason="Unknown Error.")
    world.logs.evidence[SID] = (
        Evidence(source=EvidenceSource.STEP_LOG, field="log", state=EvidenceState.NOT_YET, location=STDERR),
    )
    retrier = world.retrier()
    retrier.handle_failure(_failure())
    del world.emr.clusters[CID]
    assert retrier.recheck(world.queue.rechecks[0])["reason"] == "IGNORED_UNKNOWN_STEP"
    assert world.emr.added == []


def test_concurrent_cluster_re_adds_only_the_failed_step(world: World) -> None:
    # GIVEN a cluster running steps concurrently
    world.emr.clusters[CID] = world.emr.clusters[CID].model_copy(update={"step_concurrency_level": 5})
    retrier = world.retrier()
    retrier.handle_failure(_failure())
    world.now[0] = T0 + timedelta(seconds=120)
    retrier.execute_retry(world.queue.messages[0])
    # THEN only the restart was added, and followers were not even looked up
    assert [c.name for c in world.emr.added[0][1]] == ["nightly-aggregate (retry 1/2)"]
    assert "cancelled_followers" not in world.emr.calls

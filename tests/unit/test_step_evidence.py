"""Classification over every source (FailureDetails, YARN diagnostics, step logs), waits for late logs, runtime
roles, and the decision's quoted line: pure, on real-shaped fixtures (tests/fixtures/evidence)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emr_autoscaler.kernel.config.steps import FailureClass, StepRetryPolicy
from emr_autoscaler.kernel.models import ClusterSnapshot, ClusterState
from emr_autoscaler.steps.domain.decide import decide_step_retry, lineage_of_unknown, needs_more_evidence
from emr_autoscaler.steps.domain.evidence import (
    Evidence,
    EvidenceSource,
    EvidenceState,
    application_ids,
    classify,
    logs_pending,
)
from emr_autoscaler.steps.domain.models import (
    AwaitEvidence,
    FailedStep,
    FailureDetails,
    GiveUp,
    RetryStep,
    StepConfig,
    StepRetryReason,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "evidence"
NOW = datetime(2026, 3, 4, 3, 20, tzinfo=UTC)
ROLE = "arn:aws:iam::123456789012:role/etl-runtime"
STDERR = "s3://aws-logs-123456789012-us-east-1/elasticmapreduce/j-ABC/steps/s-1/stderr.gz"


def _fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def _diagnostics() -> Evidence:
    app = json.loads(_fixture("rm_app_lost_node.json"))["app"]
    return Evidence(source=EvidenceSource.YARN, field="diagnostics", text=app["diagnostics"], location=app["id"])


def _log(text: str, location: str = STDERR, state: EvidenceState = EvidenceState.FOUND) -> Evidence:
    return Evidence(source=EvidenceSource.STEP_LOG, field="log", text=text, location=location, state=state)


def _step(role: str | None = None, reason: str = "Unknown Error.") -> FailedStep:
    config = StepConfig(
        name="aggregate-daily",
        action_on_failure="CONTINUE",
        jar="command-runner.jar",
        args=("spark-submit", "--deploy-mode", "cluster", "s3://jobs/aggregate-daily.jar"),
        execution_role_arn=role,
    )
    return FailedStep(
        cluster_id="j-ABC",
        step_id="s-1",
        name="aggregate-daily",
        action_on_failure="CONTINUE",
        failure=FailureDetails(
            reason=reason, log_file="s3://aws-logs-123456789012-us-east-1/elasticmapreduce/j-ABC/steps/s-1/"
        ),
        config=config,
        ended_at=NOW - timedelta(minutes=1),
    )


def _cluster(concurrency: int = 1) -> ClusterSnapshot:
    return ClusterSnapshot(
        cluster_id="j-ABC",
        name="etl",
        state=ClusterState.WAITING,
        tags={"emr-autoscaler:enabled": "true"},
        read_at=NOW,
        step_concurrency_level=concurrency,
    )


def _decide(
    step: FailedStep, evidence: tuple[Evidence, ...] = (), policy: StepRetryPolicy | None = None, waits: int = 0
) -> RetryStep | GiveUp | AwaitEvidence:
    return decide_step_retry(
        step, _cluster(), lineage_of_unknown(step), policy or StepRetryPolicy(), NOW, 0.0, evidence, waits
    )


def test_unknown_error_with_lost_node_diagnostics_is_transient_and_quotes_the_line() -> None:
    # GIVEN EMR's "Unknown Error." and the YARN diagnostics of the step's application (a Spot node lost)
    step = _step()
    # WHEN decided on FailureDetails alone, THEN more evidence is wanted
    assert needs_more_evidence(_decide(step))
    # WHEN decided with the diagnostics
    decision = _decide(step, (_diagnostics(),))
    # THEN it is restarted under node-lost, and the decision names the source and quotes the matching line
    assert isinstance(decision, RetryStep)
    assert decision.reason is StepRetryReason.RETRY_TRANSIENT_FAILURE
    assert decision.rule == "node-lost"
    assert decision.finding is not None
    assert decision.finding.source == "yarn"
    assert decision.finding.location == "application_1772589600000_0007"
    assert "Container released on a *lost* node" in decision.finding.line
    # ... a window of the one long line Spark printed, starting on a word, at most 300 characters
    assert decision.finding.line.startswith("...")
    assert len(decision.finding.line) <= 300
    assert "ExecutorLostFailure" in decision.finding.line
    assert "Exit status: -100" in decision.explanation


def test_log_ending_in_class_not_found_is_permanent_and_links_that_log() -> None:
    # GIVEN a spark-submit stderr that ends in ClassNotFoundException (the diagnostics say only "exitCode: 13")
    decision = _decide(_step(), (_log(_fixture("stderr_class_not_found.txt")),))
    # THEN it is given up as permanent, quoting the exception's line and linking the log object
    assert isinstance(decision, GiveUp)
    assert decision.reason is StepRetryReason.GIVE_UP_PERMANENT_FAILURE
    assert decision.finding is not None
    assert decision.finding.line == "Caused by: java.lang.ClassNotFoundException: com.acme.etl.AggregateDaily"
    assert decision.log_location == STDERR
    assert "com.acme.etl.AggregateDaily" in decision.explanation


def test_sources_are_trusted_in_order_failure_details_then_yarn_then_logs() -> None:
    # GIVEN FailureDetails that say S3 slowed down, diagnostics of a lost node, and a log with a ClassNotFound
    step = _step(reason="Slow Down (Service: Amazon S3; Status Code: 503)")
    evidence = (_diagnostics(), _log("java.lang.ClassNotFoundException: x"))
    # WHEN classified, THEN FailureDetails win; without them, YARN wins over the log
    found = classify(
        StepRetryPolicy(),
        (Evidence(source=EvidenceSource.FAILURE_DETAILS, field="reason", text=step.failure.reason or ""), *evidence),
    )  # type: ignore[union-attr]
    assert found is not None
    assert found[1].rule == "s3-slow-down"
    found = classify(StepRetryPolicy(), evidence)
    assert found is not None
    assert (found[0], found[1].source) == (FailureClass.TRANSIENT, "yarn")


def test_a_rule_reads_only_the_field_it_names() -> None:
    # GIVEN an ops rule that reads only the step log
    policy = StepRetryPolicy.model_validate(
        {"extra_rules": [{"name": "upstream-late", "pattern": "UpstreamNotReady", "kind": "transient", "field": "log"}]}
    )
    diagnostics = Evidence(source=EvidenceSource.YARN, field="diagnostics", text="UpstreamNotReady")
    # THEN it ignores the same text in the diagnostics, and classifies it in a log
    assert classify(policy, (diagnostics,)) is None
    found = classify(policy, (_log("ERROR UpstreamNotReady: partition 2026-03-03 missing"),))
    assert found is not None
    assert found[1].rule == "upstream-late"


def test_logs_not_archived_yet_mean_wait_a_bounded_number_of_times_then_classify_with_what_exists() -> None:
    # GIVEN "Unknown Error." and logs not in S3 yet
    not_yet = (_log("", state=EvidenceState.NOT_YET),)
    policy = StepRetryPolicy(evidence_max_waits=2, evidence_wait_s=300)
    # WHEN decided (first, second look), THEN it waits 300 s each time
    for waits in (0, 1):
        decision = _decide(_step(), not_yet, policy, waits)
        assert isinstance(decision, AwaitEvidence)
        assert (decision.wait, decision.delay_s, decision.not_before) == (waits + 1, 300, NOW + timedelta(seconds=300))
    # WHEN the waits are used up, THEN it is classified with what exists (unknown: given up by default)
    decision = _decide(_step(), not_yet, policy, waits=2)
    assert decision.reason is StepRetryReason.GIVE_UP_UNKNOWN_FAILURE


@pytest.mark.parametrize(
    ("evidence", "pending"),
    [
        ((), False),
        ((_log("", state=EvidenceState.NOT_YET),), True),
        ((_log("", state=EvidenceState.NOT_YET), _log("INFO ok", location="s3://l/controller.gz")), False),
        ((_log("", state=EvidenceState.SKIPPED),), False),
    ],
    ids=["no logs read", "none archived yet", "one archived", "unreadable (no wait)"],
)
def test_logs_pending(evidence: tuple[Evidence, ...], pending: bool) -> None:
    assert logs_pending(evidence) is pending


def test_application_ids_come_last_named_first_and_bounded() -> None:
    # GIVEN a stderr naming its application many times, and another log naming more applications
    ids = application_ids(
        [
            _fixture("stderr_class_not_found.txt"),
            "application_1772589600000_0001 application_1772589600000_0002 application_1772589600000_0003",
        ]
    )
    # THEN the last named comes first, each once, at most three
    assert ids == ("application_1772589600000_0003", "application_1772589600000_0002", "application_1772589600000_0001")
    assert application_ids(["no application here; application_12_3 is too short"]) == ()


def test_runtime_role_is_kept_only_when_the_profile_names_it() -> None:
    # GIVEN a step that ran with a runtime role and failed on a lost node
    step = _step(role=ROLE)
    allowed = StepRetryPolicy(execution_roles=("arn:aws:iam::123456789012:role/etl-*",))
    # WHEN the profile names the role (a pattern), THEN it is restarted (the restart config keeps the role)
    decision = _decide(step, (_diagnostics(),), allowed)
    assert isinstance(decision, RetryStep)
    # WHEN it does not, THEN it is given up, critical, saying why
    refused = _decide(step, (_diagnostics(),))
    assert refused.reason is StepRetryReason.GIVE_UP_EXECUTION_ROLE_NOT_ALLOWED
    assert ROLE in refused.explanation


def test_concurrent_steps_re_add_only_the_failed_step() -> None:
    # GIVEN a cluster running steps concurrently (StepConcurrencyLevel 4)
    step = _step()
    decision = decide_step_retry(
        step, _cluster(4), lineage_of_unknown(step), StepRetryPolicy(), NOW, 0.0, (_diagnostics(),)
    )
    # THEN the restart re-adds no cancelled followers (EMR cancels none at a level above 1)
    assert isinstance(decision, RetryStep)
    assert decision.readd_cancelled is False
    assert _decide(step, (_diagnostics(),)).readd_cancelled is True  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        (
            "Container killed by YARN for exceeding physical memory limits. 9.1 GB of 9 GB physical memory used",
            "yarn-container-killed",
        ),
        ("Container killed on request. Exit code is 143", "yarn-container-killed"),
        (
            "Container marked as failed: container_1_01_000003 on host: ip-10-0-3-41. Exit status: 137.",
            "yarn-container-killed",
        ),
        (
            "org.apache.spark.shuffle.FetchFailedException: Failed to connect to ip-10-0-1-9.ec2.internal:7337",
            "shuffle-fetch-failed",
        ),
        ("MetadataFetchFailedException: Missing an output location for shuffle 3", "shuffle-fetch-failed"),
        ("Executor decommission: Spot instance interruption", "node-lost"),
        (
            "AmazonS3Exception: Please reduce your request rate. (Status Code: 503; Error Code: SlowDown)",
            "s3-slow-down",
        ),
        ("ModuleNotFoundError: No module named 'acme'", "class-not-found"),
        ("org.apache.spark.sql.AnalysisException: Path does not exist: s3://data/in/2026-03-03", "not-found"),
    ],
)
def test_default_rules_on_spark_and_hadoop_texts(text: str, rule: str) -> None:
    found = classify(StepRetryPolicy(), (_log(f"INFO starting\n{text}\nINFO Shutdown hook called"),))
    assert found is not None
    assert (found[1].rule, found[1].line) == (rule, text)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    text=st.text(max_size=2000)
    | st.builds(
        lambda a, b: a + "Container released on a *lost* node" + b, st.text(max_size=900), st.text(max_size=900)
    )
)
def test_any_text_classifies_without_error_and_quotes_at_most_300_characters(text: str) -> None:
    # GIVEN any text in any source, WHEN classified, THEN no exception, and a quoted line is one bounded line
    for source, field in ((EvidenceSource.YARN, "diagnostics"), (EvidenceSource.STEP_LOG, "log")):
        found = classify(StepRetryPolicy(), (Evidence(source=source, field=field, text=text),))
        if found is not None:
            assert len(found[1].line) <= 300
            assert "\n" not in found[1].line

"""Decision table of decide_step_retry: one named case per reason code, classification defaults, backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from emr_autoscaler.kernel.config.document import ConfigInvalidError, parse_config
from emr_autoscaler.kernel.config.steps import FailureClass, StepRetryPolicy
from emr_autoscaler.kernel.models import ClusterSnapshot, ClusterState
from emr_autoscaler.kernel.notices import Severity
from emr_autoscaler.steps.domain.classify import classify_failure
from emr_autoscaler.steps.domain.decide import (
    decide_step_retry,
    lineage_of_unknown,
    recheck_before_add,
    step_retry_notice_severity,
)
from emr_autoscaler.steps.domain.evidence import Evidence, EvidenceSource, EvidenceState
from emr_autoscaler.steps.domain.models import (
    FailedStep,
    FailureDetails,
    GiveUp,
    RetryStep,
    StepConfig,
    StepLineage,
    StepRetryReason,
)

NOW = datetime(2026, 3, 4, 3, 2, 41, tzinfo=UTC)
LOST_NODE = "Container released on a *lost* node"
ROLE = "arn:aws:iam::123456789012:role/etl-runtime"
LOGS_NOT_YET = (
    Evidence(
        source=EvidenceSource.STEP_LOG,
        field="log",
        state=EvidenceState.NOT_YET,
        location="s3://logs/j-ABC/steps/s-1/stderr.gz",
        note="not archived yet",
    ),
)


def _cluster(state: ClusterState = ClusterState.WAITING, opted_in: bool = True) -> ClusterSnapshot:
    tags = {"emr-autoscaler:enabled": "true"} if opted_in else {}
    return ClusterSnapshot(cluster_id="j-ABC", name="etl", state=state, tags=tags, read_at=NOW)


def _step(
    reason: str | None = LOST_NODE,
    message: str | None = None,
    *,
    name: str = "aggregate",
    action: str = "CANCEL_AND_WAIT",
    readable: bool = True,
    role: str | None = None,
) -> FailedStep:
    config = StepConfig(
        name=name,
        action_on_failure=action,
        jar="command-runner.jar",
        args=("spark-submit", "a.py"),
        execution_role_arn=role,
    )
    failure = FailureDetails(reason=reason, message=message, log_file="s3://logs/j-ABC/steps/s-1/")
    return FailedStep(
        cluster_id="j-ABC",
        step_id="s-1",
        name=name,
        action_on_failure=action,
        failure=failure if (reason or message) else None,
        config=config if readable else None,
    )


def _decide(step: FailedStep | None = None, **kwargs: Any) -> RetryStep | GiveUp:
    step = step or _step()
    lineage = kwargs.pop("lineage", None) or lineage_of_unknown(step)
    policy = kwargs.pop("policy", StepRetryPolicy())
    cluster = kwargs.pop("cluster", _cluster())
    evidence = kwargs.pop("evidence", ())
    return decide_step_retry(step, cluster, lineage, policy, NOW, kwargs.pop("jitter", 0.0), evidence)


CASES: list[tuple[str, dict[str, Any], StepRetryReason]] = [
    ("spot node lost: transient", {}, StepRetryReason.RETRY_TRANSIENT_FAILURE),
    (
        "unclassified, policy retries unknown",
        {"step": _step("Step failed with exitCode 1"), "policy": StepRetryPolicy(unknown_failures="retry")},
        StepRetryReason.RETRY_UNKNOWN_FAILURE,
    ),
    (
        "class not found: permanent",
        {"step": _step("java.lang.ClassNotFoundException: com.x.Main")},
        StepRetryReason.GIVE_UP_PERMANENT_FAILURE,
    ),
    (
        "unclassified, default gives up",
        {"step": _step("Step failed with exitCode 1")},
        StepRetryReason.GIVE_UP_UNKNOWN_FAILURE,
    ),
    ("no failure details at all", {"step": _step(None)}, StepRetryReason.GIVE_UP_UNKNOWN_FAILURE),
    (
        "2 of 2 restarts used",
        {"lineage": StepLineage(cluster_id="j-ABC", original_step_id="s-0", original_name="aggregate", attempt=2)},
        StepRetryReason.GIVE_UP_ATTEMPTS_EXHAUSTED,
    ),
    ("cluster terminated", {"cluster": _cluster(ClusterState.TERMINATED)}, StepRetryReason.GIVE_UP_CLUSTER_TERMINATING),
    (
        "cluster terminating",
        {"cluster": _cluster(ClusterState.TERMINATING)},
        StepRetryReason.GIVE_UP_CLUSTER_TERMINATING,
    ),
    (
        "step terminates its cluster",
        {"step": _step(action="TERMINATE_CLUSTER")},
        StepRetryReason.GIVE_UP_CLUSTER_TERMINATING,
    ),
    ("config unreadable", {"step": _step(readable=False)}, StepRetryReason.GIVE_UP_STEP_CONFIG_UNREADABLE),
    (
        "Unknown Error. and the logs are not archived yet: wait for them",
        {"step": _step("Unknown Error."), "evidence": LOGS_NOT_YET},
        StepRetryReason.WAIT_FOR_EVIDENCE,
    ),
    (
        "runtime role the profile does not name",
        {"step": _step(role=ROLE)},
        StepRetryReason.GIVE_UP_EXECUTION_ROLE_NOT_ALLOWED,
    ),
    (
        "a restart with no lineage record",
        {"step": _step(name="aggregate (retry 1/2)")},
        StepRetryReason.GIVE_UP_LINEAGE_UNKNOWN,
    ),
    ("cluster not opted in", {"cluster": _cluster(opted_in=False)}, StepRetryReason.SKIPPED_CLUSTER_NOT_OPTED_IN),
    ("disabled in the profile", {"policy": StepRetryPolicy(enabled=False)}, StepRetryReason.SKIPPED_RETRY_DISABLED),
    (
        "excluded by name",
        {"policy": StepRetryPolicy(exclude_step_names=("^aggr",))},
        StepRetryReason.SKIPPED_STEP_EXCLUDED,
    ),
    (
        "not included by name",
        {"policy": StepRetryPolicy(include_step_names=("^load-",))},
        StepRetryReason.SKIPPED_STEP_EXCLUDED,
    ),
]


@pytest.mark.parametrize(("case", "inputs", "expected"), CASES, ids=[c[0] for c in CASES])
def test_decision_table(case: str, inputs: dict[str, Any], expected: StepRetryReason) -> None:
    # GIVEN a failed step in the situation the case names
    # WHEN the core decides
    decision = _decide(**inputs)
    # THEN the reason code is the expected one, with a one-line explanation and the step's log location (none when
    # EMR gave no failure details)
    step = inputs.get("step") or _step()
    assert decision.reason is expected, decision.explanation
    assert isinstance(decision, RetryStep) is expected.retries
    assert decision.explanation
    assert "\n" not in decision.explanation
    assert decision.log_location == (step.failure.log_file if step.failure else None)


def test_every_reason_code_has_a_case_or_a_service_test() -> None:
    # GIVEN the reason codes the core emits, and those only the service emits (tests/unit/test_step_retry_service.py)
    service_only = {
        StepRetryReason.RETRY_ADDED,
        StepRetryReason.GIVE_UP_CONFIG_INVALID,
        StepRetryReason.SKIPPED_ALREADY_HANDLED,
        StepRetryReason.IGNORED_UNKNOWN_STEP,
    }
    # THEN together they cover the enum, and each has a notice severity (or none, on purpose)
    assert {c[2] for c in CASES} | service_only == set(StepRetryReason)
    for reason in StepRetryReason:
        step_retry_notice_severity(reason)


def test_retry_carries_attempt_backoff_and_lineage() -> None:
    # GIVEN the first restart of a retried step failed again (attempt 1 of 2), on a transient S3 503
    step = _step("Status Code: 503; Error Code: SlowDown", name="aggregate (retry 1/2)").model_copy(
        update={"step_id": "s-2"}
    )
    lineage = StepLineage(cluster_id="j-ABC", original_step_id="s-1", original_name="aggregate", attempt=1)
    # WHEN decided with no jitter
    decision = _decide(step, lineage=lineage)
    # THEN it is restart 2/2 of the ORIGINAL, after 240 s, named after the original
    assert isinstance(decision, RetryStep)
    assert (decision.attempt, decision.max_attempts, decision.delay_s) == (2, 2, 240)
    assert decision.original_step_id == "s-1"
    assert decision.failed_step_id == "s-2"
    assert decision.not_before == NOW + timedelta(seconds=240)
    assert decision.retry_name == "aggregate (retry 2/2)"
    assert decision.rule == "s3-slow-down"


@pytest.mark.parametrize(
    ("attempt", "jitter", "expected_s"),
    [(1, 0.0, 120), (2, 0.0, 240), (3, 0.0, 480), (4, 0.0, 900), (9, 0.0, 900), (1, 1.0, 96), (4, 0.5, 810)],
)
def test_backoff_doubles_is_capped_at_15_minutes_and_jitter_only_shortens(
    attempt: int, jitter: float, expected_s: int
) -> None:
    # GIVEN the default policy (2 min base, x2, 900 s cap, 20 % jitter), WHEN the backoff is computed, THEN:
    assert StepRetryPolicy().backoff_s(attempt, jitter) == expected_s


@pytest.mark.parametrize(
    ("reason", "message", "kind", "rule"),
    [
        (LOST_NODE, None, FailureClass.TRANSIENT, "node-lost"),
        ("Spot instance interruption", None, FailureClass.TRANSIENT, "node-lost"),
        (None, "Container killed by node loss", FailureClass.TRANSIENT, "node-lost"),
        (
            "com.amazonaws.services.s3.model.AmazonS3Exception: Slow Down (Status Code: 503)",
            None,
            FailureClass.TRANSIENT,
            "s3-slow-down",
        ),
        ("ThrottlingException: Rate exceeded", None, FailureClass.TRANSIENT, "throttling"),
        ("java.net.SocketTimeoutException: Read timed out", None, FailureClass.TRANSIENT, "timeout"),
        ("java.lang.ClassNotFoundException: com.acme.Main", None, FailureClass.PERMANENT, "class-not-found"),
        (
            "java.io.FileNotFoundException: s3://b/in/ (No such file or directory)",
            None,
            FailureClass.PERMANENT,
            "not-found",
        ),
        (
            "[TABLE_OR_VIEW_NOT_FOUND] The table or view `db`.`t` cannot be found",
            None,
            FailureClass.PERMANENT,
            "not-found",
        ),
        ("Access Denied (Service: Amazon S3; Status Code: 403)", None, FailureClass.PERMANENT, "access-denied"),
        (
            None,
            "org.apache.spark.sql.catalyst.parser.ParseException: syntax error",
            FailureClass.PERMANENT,
            "syntax-or-analysis",
        ),
        ("Access Denied after the request timed out", None, FailureClass.PERMANENT, "access-denied"),
        ("Step failed with exitCode 1", None, None, None),
    ],
)
def test_default_classification(
    reason: str | None, message: str | None, kind: FailureClass | None, rule: str | None
) -> None:
    # GIVEN EMR's FailureDetails, WHEN classified by the default rules, THEN the first matching rule decides
    assert classify_failure(StepRetryPolicy(), FailureDetails(reason=reason, message=message)) == (kind, rule)


def test_extra_rules_come_before_the_defaults() -> None:
    # GIVEN ops who know that their job's exit code 3 means "upstream not ready yet"
    policy = StepRetryPolicy.model_validate(
        {"extra_rules": [{"name": "upstream-late", "pattern": "exitCode 3", "kind": "transient", "field": "reason"}]}
    )
    # WHEN that failure is decided, THEN it is restarted under their rule
    decision = _decide(_step("Step failed with exitCode 3"), policy=policy)
    assert decision.reason is StepRetryReason.RETRY_TRANSIENT_FAILURE
    assert decision.rule == "upstream-late"


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"step_retry": {"max_attempts": -1}}, "defaults.step_retry.max_attempts"),
        ({"step_retry": {"backoff_max_s": 901}}, "defaults.step_retry.backoff_max_s"),
        ({"step_retry": {"backoff_base_s": 600, "backoff_max_s": 300}}, "defaults.step_retry"),
        ({"step_retry": {"exclude_step_names": ["("]}}, "defaults.step_retry.exclude_step_names"),
        ({"step_retry": {"rules": [{"name": "x", "pattern": "a(", "kind": "transient"}]}}, "defaults.step_retry.rules"),
        ({"step_retry": {"unknown_failures": "maybe"}}, "defaults.step_retry.unknown_failures"),
        ({"step_retry": {"max_retries": 3}}, "defaults.step_retry.max_retries"),
    ],
)
def test_invalid_step_retry_settings_are_refused_naming_the_field(document: dict[str, Any], field: str) -> None:
    # GIVEN a document with a bad step_retry setting, WHEN parsed, THEN it is refused naming the field
    with pytest.raises(ConfigInvalidError, match=field.replace(".", r"\.")):
        parse_config({"defaults": document})


def test_profile_overrides_step_retry_and_defaults_fill_the_rest() -> None:
    # GIVEN a profile that only raises the attempt budget
    document = parse_config({"defaults": {}, "profiles": {"etl": {"step_retry": {"max_attempts": 4}}}})
    # THEN the profile has 4 and keeps the default backoff; the default profile keeps 2
    assert document.profiles["etl"].step_retry.max_attempts == 4
    assert document.profiles["etl"].step_retry.backoff_base_s == 120
    assert document.profiles["default"].step_retry.max_attempts == 2


def test_policy_is_frozen() -> None:
    # GIVEN a policy, WHEN mutated, THEN refused
    with pytest.raises(ValidationError):
        StepRetryPolicy().max_attempts = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("state", "opted_in", "expected"),
    [
        (ClusterState.WAITING, True, None),
        (ClusterState.RUNNING, True, None),
        (ClusterState.TERMINATED, True, StepRetryReason.GIVE_UP_CLUSTER_TERMINATING),
        (ClusterState.TERMINATED_WITH_ERRORS, True, StepRetryReason.GIVE_UP_CLUSTER_TERMINATING),
        (ClusterState.WAITING, False, StepRetryReason.SKIPPED_CLUSTER_NOT_OPTED_IN),
    ],
)
def test_recheck_before_add(state: ClusterState, opted_in: bool, expected: StepRetryReason | None) -> None:
    # GIVEN a scheduled restart, and the cluster as it is when the backoff has passed
    retry = _decide()
    assert isinstance(retry, RetryStep)
    # WHEN re-checked right before adding
    refusal = recheck_before_add(_cluster(state, opted_in), retry)
    # THEN only an active, opted-in cluster gets the restart
    assert (refusal.reason if refusal else None) is expected


def test_severity_of_outcomes() -> None:
    # GIVEN the outcomes, THEN permanent and exhausted failures are critical, restarts info, quiet ones no notice
    assert step_retry_notice_severity(StepRetryReason.GIVE_UP_PERMANENT_FAILURE) is Severity.CRITICAL
    assert step_retry_notice_severity(StepRetryReason.GIVE_UP_ATTEMPTS_EXHAUSTED) is Severity.CRITICAL
    assert step_retry_notice_severity(StepRetryReason.GIVE_UP_CLUSTER_TERMINATING) is Severity.WARNING
    assert step_retry_notice_severity(StepRetryReason.RETRY_TRANSIENT_FAILURE) is Severity.INFO
    assert step_retry_notice_severity(StepRetryReason.RETRY_ADDED) is Severity.INFO
    assert step_retry_notice_severity(StepRetryReason.SKIPPED_CLUSTER_NOT_OPTED_IN) is None

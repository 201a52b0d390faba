"""Step retry: classify a failed EMR step, and decide whether to restart it, when, or why not. Pure.

`decide_step_retry` takes the failed step, its cluster, the step's lineage (which attempt failed), the profile's
`StepRetryPolicy`, the time, a jitter draw in [0, 1), the evidence read beyond FailureDetails and how many times it
already waited for evidence, and returns `RetryStep`, `GiveUp` or `AwaitEvidence`, each with a reason code and a
one-line explanation. No clock, no randomness, no AWS: the service gathers inputs and applies it.

Attempts follow the lineage of the original step: the original run is attempt 0, its k-th restart attempt k.
`max_attempts` bounds the restarts (the original run is not counted), so a step runs at most 1 + max_attempts
times. Backoff before restart k is `backoff_base_s * backoff_multiplier**(k-1)`, capped at `backoff_max_s`
(≤ 900 s: the restart waits in SQS with per-message DelaySeconds, whose maximum is 15 minutes), minus up to
`jitter_pct` percent of it so restarts of many steps failed by one event do not land together.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from emr_autoscaler.kernel.config.steps import FailureClass, StepRetryPolicy
from emr_autoscaler.kernel.models import ClusterSnapshot, ClusterState
from emr_autoscaler.kernel.notices import Severity
from emr_autoscaler.steps.domain.evidence import Evidence, classify, failure_details_evidence, logs_pending
from emr_autoscaler.steps.domain.models import (
    RETRY_NAME_MARKER,
    AwaitEvidence,
    FailedStep,
    Finding,
    GiveUp,
    RetryStep,
    StepLineage,
    StepRetryDecision,
    StepRetryReason,
)

CLUSTER_GONE_STATES = frozenset(
    {ClusterState.TERMINATING, ClusterState.TERMINATED, ClusterState.TERMINATED_WITH_ERRORS}
)
TERMINATING_ACTIONS = frozenset({"TERMINATE_CLUSTER", "TERMINATE_JOB_FLOW"})


def _failure_text(step: FailedStep, finding: Finding | None = None) -> str:
    if finding is not None:
        return f'"{finding.line}" (in {finding.where})'
    failure = step.failure
    if failure is None or not (failure.reason or failure.message):
        return "EMR gave no failure details"
    text = (failure.reason or failure.message or "").strip().splitlines()[0]
    return text if len(text) <= 160 else text[:157] + "..."


def _log_location(step: FailedStep, finding: Finding | None) -> str | None:
    """The log to link: the log object that classified the failure, else the LogFile EMR named."""
    if finding is not None and finding.source == "step_log" and finding.location:
        return finding.location
    return step.failure.log_file if step.failure else None


def needs_more_evidence(decision: StepRetryDecision) -> bool:
    """Needs_more_evidence is true when the decision hinges on a failure FailureDetails could not classify."""
    return decision.reason in (StepRetryReason.GIVE_UP_UNKNOWN_FAILURE, StepRetryReason.RETRY_UNKNOWN_FAILURE)


def decide_step_retry(
    step: FailedStep,
    cluster: ClusterSnapshot,
    lineage: StepLineage,
    policy: StepRetryPolicy,
    now: datetime,
    jitter: float,
    evidence: Sequence[Evidence] = (),
    waits: int = 0,
) -> StepRetryDecision:
    """Decide_step_retry decides whether the failed step is restarted, and when; the first failing check decides.

    Checks, in order: opt-in tag, policy enabled, step-name filters, cluster not terminating (nor the step's own
    ActionOnFailure terminating it), readable step config, known lineage, failure class over FailureDetails and
    `evidence` (permanent; or unclassified while the step's logs are not archived yet: wait for them, at most
    `evidence_max_waits` times in all, `waits` already done; or unknown when the policy gives up on unknown),
    attempt budget, runtime role named by the profile. `jitter` in [0, 1) shortens the backoff by up to
    `jitter_pct` percent.
    """
    name = lineage.original_name
    where = f"step '{name}' ({step.step_id}) on cluster {cluster.name or cluster.cluster_id} ({cluster.cluster_id})"
    budget = policy.max_attempts
    found = None
    if step.config is not None and lineage.known:
        found = classify(policy, (*failure_details_evidence(step), *evidence))
    finding = found[1] if found else None
    log = _log_location(step, finding)

    def give_up(reason: StepRetryReason, why: str, rule: str | None = None) -> GiveUp:
        return GiveUp(
            cluster_id=step.cluster_id,
            step_id=step.step_id,
            step_name=name,
            reason=reason,
            explanation=f"Not restarting {where}: {why}.",
            attempt=lineage.attempt,
            max_attempts=budget,
            rule=rule,
            log_location=log,
            finding=finding if rule else None,
        )

    if not cluster.opted_in:
        return give_up(StepRetryReason.SKIPPED_CLUSTER_NOT_OPTED_IN, "the cluster lacks emr-autoscaler:enabled=true")
    if not policy.enabled:
        return give_up(StepRetryReason.SKIPPED_RETRY_DISABLED, "step retry is disabled in the cluster's profile")
    if not policy.selects(name):
        return give_up(StepRetryReason.SKIPPED_STEP_EXCLUDED, "its name is excluded by the step-name patterns")
    if cluster.state in CLUSTER_GONE_STATES:
        return give_up(StepRetryReason.GIVE_UP_CLUSTER_TERMINATING, f"the cluster is {cluster.state.value}")
    if step.action_on_failure in TERMINATING_ACTIONS:
        return give_up(
            StepRetryReason.GIVE_UP_CLUSTER_TERMINATING,
            f"its ActionOnFailure {step.action_on_failure} terminates the cluster",
        )
    if step.config is None:
        return give_up(StepRetryReason.GIVE_UP_STEP_CONFIG_UNREADABLE, "its configuration could not be read")
    if not lineage.known:
        return give_up(
            StepRetryReason.GIVE_UP_LINEAGE_UNKNOWN,
            "it is a restart whose attempt history is missing, so its budget cannot be checked",
        )
    kind, rule = (found[0], found[1].rule) if found else (None, None)
    failure = _failure_text(step, finding)
    role = step.config.execution_role_arn
    role_allowed = role is None or policy.allows_role(role)
    if kind is FailureClass.PERMANENT:
        return give_up(StepRetryReason.GIVE_UP_PERMANENT_FAILURE, f"permanent failure ({rule}): {failure}", rule=rule)
    if (
        kind is None
        and waits < policy.evidence_max_waits
        and logs_pending(evidence)
        and lineage.attempt < budget
        and role_allowed
    ):
        delay_s = policy.evidence_wait_s
        return AwaitEvidence(
            cluster_id=step.cluster_id,
            step_id=step.step_id,
            step_name=name,
            wait=waits + 1,
            max_waits=policy.evidence_max_waits,
            delay_s=delay_s,
            not_before=now + timedelta(seconds=delay_s),
            explanation=(
                f"Waiting {delay_s} s for the logs of {where} (wait {waits + 1}/{policy.evidence_max_waits}): "
                f"nothing read so far classifies the failure ({failure}) and EMR has not archived its logs to S3 yet."
            ),
            attempt=lineage.attempt,
            max_attempts=budget,
            log_location=log,
        )
    if kind is None and policy.unknown_failures == "give_up":
        return give_up(StepRetryReason.GIVE_UP_UNKNOWN_FAILURE, f"no rule classifies the failure: {failure}")
    if lineage.attempt >= budget:
        return give_up(
            StepRetryReason.GIVE_UP_ATTEMPTS_EXHAUSTED,
            f"{lineage.attempt} of {budget} restart(s) used; last failure: {failure}",
            rule=rule,
        )
    if role is not None and not role_allowed:
        return give_up(
            StepRetryReason.GIVE_UP_EXECUTION_ROLE_NOT_ALLOWED,
            f"it ran with the runtime role {role}, which the profile's step_retry.execution_roles does not name "
            f"(a restart must run with the same role, and may pass only roles the profile names); failure: {failure}",
            rule=rule,
        )
    attempt = lineage.attempt + 1
    delay_s = policy.backoff_s(attempt, jitter)
    reason = StepRetryReason.RETRY_TRANSIENT_FAILURE if kind else StepRetryReason.RETRY_UNKNOWN_FAILURE
    cause = f"transient failure ({rule})" if kind else "unclassified failure (the policy retries unknown failures)"
    return RetryStep(
        cluster_id=step.cluster_id,
        failed_step_id=step.step_id,
        original_step_id=lineage.original_step_id,
        step_name=name,
        attempt=attempt,
        max_attempts=budget,
        delay_s=delay_s,
        not_before=now + timedelta(seconds=delay_s),
        reason=reason,
        explanation=f"Restarting {where} in {delay_s} s as retry {attempt}/{budget}: {cause}: {failure}.",
        rule=rule,
        log_location=log,
        finding=finding,
        # With a step concurrency level above 1, a failure cancels no pending step: only the failed one is re-added
        # (https://docs.aws.amazon.com/emr/latest/APIReference/API_Step.html, ActionOnFailure).
        readd_cancelled=cluster.step_concurrency_level <= 1,
    )


def give_up_config_invalid(step: FailedStep, lineage: StepLineage, error: str) -> GiveUp:
    """Give_up_config_invalid: no valid configuration was ever read, so no policy can say the step may restart."""
    return GiveUp(
        cluster_id=step.cluster_id,
        step_id=step.step_id,
        step_name=lineage.original_name,
        reason=StepRetryReason.GIVE_UP_CONFIG_INVALID,
        explanation=(
            f"Not restarting step '{lineage.original_name}' ({step.step_id}) on cluster {step.cluster_id}: "
            f"no valid configuration has been read yet ({error})."
        ),
        attempt=lineage.attempt,
        log_location=step.failure.log_file if step.failure else None,
    )


def _refused(retry: RetryStep, reason: StepRetryReason, explanation: str, rule: str | None) -> GiveUp:
    """_Refused is a scheduled restart given up at its due time: the failed run's attempt, its lineage's fields."""
    return GiveUp(
        cluster_id=retry.cluster_id,
        step_id=retry.failed_step_id,
        step_name=retry.step_name,
        reason=reason,
        explanation=explanation,
        attempt=retry.attempt - 1,
        max_attempts=retry.max_attempts,
        rule=rule,
        log_location=retry.log_location,
        finding=retry.finding if rule else None,
    )


def recheck_before_add(cluster: ClusterSnapshot | None, retry: RetryStep) -> GiveUp | None:
    """Recheck_before_add refuses a scheduled restart when the cluster is terminating or gone (None: EMR no longer
    knows it), or no longer opted in (its tag removed during the backoff); None: go ahead."""
    label = f"Not restarting step '{retry.step_name}' ({retry.failed_step_id}) on cluster {retry.cluster_id}"
    if cluster is None:
        return _refused(
            retry,
            StepRetryReason.GIVE_UP_CLUSTER_TERMINATING,
            f"Not restarting step '{retry.step_name}': EMR no longer knows cluster {retry.cluster_id}.",
            rule=None,
        )
    if cluster.state not in CLUSTER_GONE_STATES and cluster.opted_in:
        return None
    if cluster.state not in CLUSTER_GONE_STATES:
        return _refused(
            retry,
            StepRetryReason.SKIPPED_CLUSTER_NOT_OPTED_IN,
            f"{label}: the cluster no longer carries emr-autoscaler:enabled=true.",
            rule=retry.rule,
        )
    return _refused(
        retry,
        StepRetryReason.GIVE_UP_CLUSTER_TERMINATING,
        f"{label}: the cluster became {cluster.state.value} during the backoff.",
        rule=retry.rule,
    )


def lineage_of_unknown(step: FailedStep) -> StepLineage:
    """Lineage_of_unknown is the lineage of a step with no lineage record: an original, unless its name says it
    is one of our restarts (then its history is missing, and it is not restarted: no endless restart loops)."""
    restart = RETRY_NAME_MARKER.search(step.name) is not None
    return StepLineage(
        cluster_id=step.cluster_id,
        original_step_id=step.step_id,
        original_name=RETRY_NAME_MARKER.sub("", step.name),
        attempt=0,
        known=not restart,
    )


_SEVERITY: dict[StepRetryReason, Severity | None] = {
    StepRetryReason.RETRY_TRANSIENT_FAILURE: Severity.INFO,
    StepRetryReason.RETRY_UNKNOWN_FAILURE: Severity.WARNING,
    StepRetryReason.RETRY_ADDED: Severity.INFO,
    # Waiting for the logs is no news: the decision that follows is.
    StepRetryReason.WAIT_FOR_EVIDENCE: None,
    StepRetryReason.GIVE_UP_EXECUTION_ROLE_NOT_ALLOWED: Severity.CRITICAL,
    StepRetryReason.GIVE_UP_PERMANENT_FAILURE: Severity.CRITICAL,
    StepRetryReason.GIVE_UP_UNKNOWN_FAILURE: Severity.CRITICAL,
    StepRetryReason.GIVE_UP_ATTEMPTS_EXHAUSTED: Severity.CRITICAL,
    StepRetryReason.GIVE_UP_STEP_CONFIG_UNREADABLE: Severity.CRITICAL,
    StepRetryReason.GIVE_UP_LINEAGE_UNKNOWN: Severity.CRITICAL,
    StepRetryReason.GIVE_UP_CONFIG_INVALID: Severity.CRITICAL,
    StepRetryReason.GIVE_UP_CLUSTER_TERMINATING: Severity.WARNING,
    StepRetryReason.SKIPPED_RETRY_DISABLED: Severity.INFO,
    StepRetryReason.SKIPPED_STEP_EXCLUDED: Severity.INFO,
    # Every failed step of the account reaches the function; clusters that did not opt in are not our news.
    StepRetryReason.SKIPPED_CLUSTER_NOT_OPTED_IN: None,
    # A redelivery of a restart already added: the first delivery told it.
    StepRetryReason.SKIPPED_ALREADY_HANDLED: None,
    StepRetryReason.IGNORED_UNKNOWN_STEP: None,
}


def step_retry_notice_severity(reason: StepRetryReason) -> Severity | None:
    """Step_retry_notice_severity says how severe a step-retry outcome's notice is; None: no notice.

    A failure no restart will fix (permanent, exhausted, unknown, unreadable) is critical: a person must act now.
    A cluster going away is a warning (the cluster's own notice says why). Restarts are info.
    """
    return _SEVERITY[reason]

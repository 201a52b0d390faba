"""Step retry: classify a failed EMR step, and decide whether to restart it, when, or why not. Pure.

`decide_step_retry` takes the failed step, its cluster, the step's lineage (which attempt failed), the profile's
`StepRetryPolicy`, the time and a jitter draw in [0, 1), and returns `RetryStep` or `GiveUp`, each with a reason
code and a one-line explanation. No clock, no randomness, no AWS: the service gathers inputs and applies it.

Attempts follow the lineage of the original step: the original run is attempt 0, its k-th restart attempt k.
`max_attempts` bounds the restarts (the original run is not counted), so a step runs at most 1 + max_attempts
times. Backoff before restart k is `backoff_base_s * backoff_multiplier**(k-1)`, capped at `backoff_max_s`
(≤ 900 s: the restart waits in SQS with per-message DelaySeconds, whose maximum is 15 minutes), minus up to
`jitter_pct` percent of it so restarts of many steps failed by one event do not land together.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cached_property
from typing import Literal

from pydantic import Field, field_validator, model_validator

from emr_autoscaler.kernel.models import ClusterSnapshot, ClusterState, Frozen
from emr_autoscaler.scaling.domain.notices import Severity

SQS_MAX_DELAY_S = 900
# Only this much of EMR's failure text is searched: bounded regex work, whatever a step prints.
_MAX_TEXT_CHARS = 4096
# The marker a restarted step's name carries: "<original name> (retry k/N)".
RETRY_NAME_MARKER = re.compile(r" \(retry \d+/\d+\)$")
CLUSTER_GONE_STATES = frozenset(
    {ClusterState.TERMINATING, ClusterState.TERMINATED, ClusterState.TERMINATED_WITH_ERRORS}
)
TERMINATING_ACTIONS = frozenset({"TERMINATE_CLUSTER", "TERMINATE_JOB_FLOW"})


class FailureClass(StrEnum):
    """FailureClass is what a classification rule says of a failure."""

    TRANSIENT = "transient"
    PERMANENT = "permanent"


class StepRetryReason(StrEnum):
    """StepRetryReason is the machine-readable why of every step-retry outcome; docs/step-retry.md explains each."""

    RETRY_TRANSIENT_FAILURE = "RETRY_TRANSIENT_FAILURE"
    RETRY_UNKNOWN_FAILURE = "RETRY_UNKNOWN_FAILURE"
    RETRY_ADDED = "RETRY_ADDED"
    GIVE_UP_PERMANENT_FAILURE = "GIVE_UP_PERMANENT_FAILURE"
    GIVE_UP_UNKNOWN_FAILURE = "GIVE_UP_UNKNOWN_FAILURE"
    GIVE_UP_ATTEMPTS_EXHAUSTED = "GIVE_UP_ATTEMPTS_EXHAUSTED"
    GIVE_UP_CLUSTER_TERMINATING = "GIVE_UP_CLUSTER_TERMINATING"
    GIVE_UP_STEP_CONFIG_UNREADABLE = "GIVE_UP_STEP_CONFIG_UNREADABLE"
    GIVE_UP_LINEAGE_UNKNOWN = "GIVE_UP_LINEAGE_UNKNOWN"
    GIVE_UP_CONFIG_INVALID = "GIVE_UP_CONFIG_INVALID"
    SKIPPED_CLUSTER_NOT_OPTED_IN = "SKIPPED_CLUSTER_NOT_OPTED_IN"
    SKIPPED_RETRY_DISABLED = "SKIPPED_RETRY_DISABLED"
    SKIPPED_STEP_EXCLUDED = "SKIPPED_STEP_EXCLUDED"
    SKIPPED_ALREADY_HANDLED = "SKIPPED_ALREADY_HANDLED"
    IGNORED_UNKNOWN_STEP = "IGNORED_UNKNOWN_STEP"

    @property
    def retries(self) -> bool:
        """Retries is true for the codes that come with a restart (scheduled or added)."""
        return self.value.startswith("RETRY_")


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as error:
        raise ValueError(f"invalid regular expression {pattern!r}: {error}") from None


class ClassificationRule(Frozen):
    """ClassificationRule: a failure whose `field` text matches `pattern` (case-insensitive search) is `kind`.

    `field` is `reason`, `message` or `any` (either) of the step's Status.FailureDetails.
    """

    name: str = Field(min_length=1)
    pattern: str = Field(min_length=1)
    kind: FailureClass
    field: Literal["reason", "message", "any"] = "any"

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str) -> str:
        _compile(value)
        return value

    @cached_property
    def regex(self) -> re.Pattern[str]:
        """Regex is the compiled, case-insensitive pattern."""
        return _compile(self.pattern)

    def matches(self, reason: str, message: str) -> bool:
        """Matches is true when the rule's pattern is found in the field it reads."""
        texts = {"reason": (reason,), "message": (message,), "any": (reason, message)}[self.field]
        return any(self.regex.search(text[:_MAX_TEXT_CHARS]) for text in texts)


def _rule(name: str, pattern: str, kind: FailureClass) -> ClassificationRule:
    return ClassificationRule(name=name, pattern=pattern, kind=kind)


_T, _P = FailureClass.TRANSIENT, FailureClass.PERMANENT
# Order matters, the first match wins. Node loss comes first: a Spot reclaim also surfaces as missing shuffle
# files (FileNotFoundException), which would otherwise read as permanent. Timeouts come last: a timeout next to
# an access-denied message is the access problem.
DEFAULT_RULES: tuple[ClassificationRule, ...] = (
    _rule(
        "node-lost",
        r"lost node|node lost|released on a \*?lost\*? node|container killed by node loss|decommission"
        r"|spot (instance )?interruption|instance was terminated|exit (status|code):? ?-100",
        _T,
    ),
    _rule("s3-slow-down", r"503 slow ?down|slow ?down|status code: ?503|service unavailable", _T),
    _rule(
        "throttling",
        r"throttl|rate exceeded|too many requests|requestlimitexceeded|status code: ?429",
        _T,
    ),
    _rule("class-not-found", r"classnotfoundexception|noclassdeffounderror|class not found", _P),
    _rule(
        "not-found",
        r"filenotfoundexception|no such file or directory|path does not exist|nosuchkey|nosuchbucket"
        r"|table or view not found|table_or_view_not_found|table not found|nosuchtableexception",
        _P,
    ),
    _rule("access-denied", r"access ?denied|accessdeniedexception|permission denied|status code: ?403|forbidden", _P),
    _rule(
        "syntax-or-analysis",
        r"analysisexception|parseexception|syntax ?error|unresolved_column|cannot resolve",
        _P,
    ),
    _rule("timeout", r"timed? ?out|timeoutexception|sockettimeout|connecttimeout", _T),
)


class StepRetryPolicy(Frozen):
    """StepRetryPolicy is one profile's step-restart settings (durations in seconds, `_pct` in percent).

    Clusters opt in with the `emr-autoscaler:enabled=true` tag, as for scaling. A step is considered when its
    name matches one of `include_step_names` (all names when empty) and none of `exclude_step_names`.
    Failures are classified by `extra_rules` then `rules` (the defaults), in order; the first match wins.
    """

    enabled: bool = True
    include_step_names: tuple[str, ...] = ()
    exclude_step_names: tuple[str, ...] = ()
    extra_rules: tuple[ClassificationRule, ...] = ()
    rules: tuple[ClassificationRule, ...] = DEFAULT_RULES
    unknown_failures: Literal["retry", "give_up"] = "give_up"
    max_attempts: int = Field(default=2, ge=0, le=10)
    backoff_base_s: int = Field(default=120, ge=0, le=SQS_MAX_DELAY_S)
    backoff_multiplier: float = Field(default=2.0, ge=1.0, le=10.0)
    backoff_max_s: int = Field(default=SQS_MAX_DELAY_S, ge=0, le=SQS_MAX_DELAY_S)
    jitter_pct: float = Field(default=20.0, ge=0, le=100)

    @field_validator("include_step_names", "exclude_step_names")
    @classmethod
    def _patterns_compile(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            _compile(pattern)
        return value

    @model_validator(mode="after")
    def _base_within_cap(self) -> StepRetryPolicy:
        if self.backoff_base_s > self.backoff_max_s:
            raise ValueError(
                f"backoff_base_s ({self.backoff_base_s}) is greater than backoff_max_s ({self.backoff_max_s})"
            )
        return self

    def selects(self, step_name: str) -> bool:
        """Selects is true when the step's name passes the include and exclude patterns (case-insensitive)."""
        if self.include_step_names and not any(_compile(p).search(step_name) for p in self.include_step_names):
            return False
        return not any(_compile(p).search(step_name) for p in self.exclude_step_names)

    def classify(self, failure: FailureDetails | None) -> tuple[FailureClass | None, str | None]:
        """Classify returns (class, rule name) of the first matching rule, or (None, None) when none matches."""
        if failure is None:
            return None, None
        for rule in (*self.extra_rules, *self.rules):
            if rule.matches(failure.reason or "", failure.message or ""):
                return rule.kind, rule.name
        return None, None

    def backoff_s(self, attempt: int, jitter: float) -> int:
        """Backoff_s is the wait before restart `attempt` (1-based), in whole seconds, jitter in [0, 1)."""
        raw = self.backoff_base_s * self.backoff_multiplier ** max(0, attempt - 1)
        capped = min(float(self.backoff_max_s), raw)
        return int(capped * (1.0 - self.jitter_pct / 100.0 * min(max(jitter, 0.0), 1.0)))


class FailureDetails(Frozen):
    """FailureDetails is EMR's Status.FailureDetails of a step: why it failed and where its log is."""

    reason: str | None = None
    message: str | None = None
    log_file: str | None = None


class StepConfig(Frozen):
    """StepConfig is what AddJobFlowSteps needs to run a step again, exactly as it was submitted."""

    name: str
    action_on_failure: str
    jar: str = Field(min_length=1)
    args: tuple[str, ...] = ()
    main_class: str | None = None
    properties: dict[str, str] = Field(default_factory=dict)


class FailedStep(Frozen):
    """FailedStep is a step as DescribeStep showed it after it failed; `config` is None when it could not be read."""

    cluster_id: str
    step_id: str
    name: str
    action_on_failure: str
    state: str = "FAILED"
    failure: FailureDetails | None = None
    config: StepConfig | None = None
    created_at: datetime | None = None
    ended_at: datetime | None = None


class StepLineage(Frozen):
    """StepLineage places a step in the history of its original: which attempt it is (0 = the original run).

    `original_name` is the original step's name, without any "(retry k/N)" marker.
    """

    cluster_id: str
    original_step_id: str
    original_name: str
    attempt: int = Field(default=0, ge=0)
    known: bool = True


class RetryStep(Frozen):
    """RetryStep is a command: restart the original step as attempt `attempt` of `max_attempts`, at `not_before`."""

    cluster_id: str
    failed_step_id: str
    original_step_id: str
    step_name: str
    attempt: int = Field(gt=0)
    max_attempts: int = Field(gt=0)
    delay_s: int = Field(ge=0, le=SQS_MAX_DELAY_S)
    not_before: datetime
    reason: StepRetryReason
    explanation: str
    rule: str | None = None
    log_location: str | None = None

    @property
    def retry_name(self) -> str:
        """Retry_name is the restarted step's name: the original name suffixed "(retry k/N)"."""
        return f"{self.step_name} (retry {self.attempt}/{self.max_attempts})"


class GiveUp(Frozen):
    """GiveUp is the decision not to restart the step, with the reason and where its log is."""

    cluster_id: str
    step_id: str
    step_name: str
    reason: StepRetryReason
    explanation: str
    attempt: int = 0
    max_attempts: int = 0
    rule: str | None = None
    log_location: str | None = None


StepRetryDecision = RetryStep | GiveUp


class ScheduledRetry(Frozen):
    """ScheduledRetry is the message that waits out the backoff: the restart and the failed step as EMR showed it.

    The failed step carries its config (what runs again) and its timeline (which cancelled steps follow it).
    """

    retry: RetryStep
    step: FailedStep

    @model_validator(mode="after")
    def _config_known(self) -> ScheduledRetry:
        if self.step.config is None:
            raise ValueError("a scheduled restart needs the failed step's config")
        return self

    @property
    def retry_config(self) -> StepConfig:
        """Retry_config is the failed step's config under the restart's name ("<name> (retry k/N)")."""
        assert self.step.config is not None  # guaranteed by the validator
        return self.step.config.model_copy(update={"name": self.retry.retry_name})


def _failure_text(step: FailedStep) -> str:
    failure = step.failure
    if failure is None or not (failure.reason or failure.message):
        return "EMR gave no failure details"
    text = (failure.reason or failure.message or "").strip().splitlines()[0]
    return text if len(text) <= 160 else text[:157] + "..."


def decide_step_retry(
    step: FailedStep,
    cluster: ClusterSnapshot,
    lineage: StepLineage,
    policy: StepRetryPolicy,
    now: datetime,
    jitter: float,
) -> StepRetryDecision:
    """Decide_step_retry decides whether the failed step is restarted, and when; the first failing check decides.

    Checks, in order: opt-in tag, policy enabled, step-name filters, cluster not terminating (nor the step's own
    ActionOnFailure terminating it), readable step config, known lineage, failure class (permanent, or unknown
    when the policy gives up on unknown), attempt budget. `jitter` in [0, 1) shortens the backoff by up to
    `jitter_pct` percent.
    """
    name = lineage.original_name
    where = f"step '{name}' ({step.step_id}) on cluster {cluster.name or cluster.cluster_id} ({cluster.cluster_id})"
    log = step.failure.log_file if step.failure else None
    budget = policy.max_attempts

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
    kind, rule = policy.classify(step.failure)
    failure = _failure_text(step)
    if kind is FailureClass.PERMANENT:
        return give_up(StepRetryReason.GIVE_UP_PERMANENT_FAILURE, f"permanent failure ({rule}): {failure}", rule=rule)
    if kind is None and policy.unknown_failures == "give_up":
        return give_up(StepRetryReason.GIVE_UP_UNKNOWN_FAILURE, f"no rule classifies the failure: {failure}")
    if lineage.attempt >= budget:
        return give_up(
            StepRetryReason.GIVE_UP_ATTEMPTS_EXHAUSTED,
            f"{lineage.attempt} of {budget} restart(s) used; last failure: {failure}",
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
    )


def recheck_before_add(cluster: ClusterSnapshot, retry: RetryStep) -> GiveUp | None:
    """Recheck_before_add refuses a scheduled restart when the cluster is terminating or gone, or no longer opted
    in (its tag removed during the backoff); None: go ahead."""
    if cluster.state not in CLUSTER_GONE_STATES and cluster.opted_in:
        return None
    if cluster.state not in CLUSTER_GONE_STATES:
        return GiveUp(
            cluster_id=retry.cluster_id,
            step_id=retry.failed_step_id,
            step_name=retry.step_name,
            reason=StepRetryReason.SKIPPED_CLUSTER_NOT_OPTED_IN,
            explanation=(
                f"Not restarting step '{retry.step_name}' ({retry.failed_step_id}) on cluster {cluster.cluster_id}: "
                "the cluster no longer carries emr-autoscaler:enabled=true."
            ),
            attempt=retry.attempt - 1,
            max_attempts=retry.max_attempts,
            rule=retry.rule,
            log_location=retry.log_location,
        )
    return GiveUp(
        cluster_id=retry.cluster_id,
        step_id=retry.failed_step_id,
        step_name=retry.step_name,
        reason=StepRetryReason.GIVE_UP_CLUSTER_TERMINATING,
        explanation=(
            f"Not restarting step '{retry.step_name}' ({retry.failed_step_id}) on cluster {cluster.cluster_id}: "
            f"the cluster became {cluster.state.value} during the backoff."
        ),
        attempt=retry.attempt - 1,
        max_attempts=retry.max_attempts,
        rule=retry.rule,
        log_location=retry.log_location,
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

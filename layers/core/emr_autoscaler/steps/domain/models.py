"""The step-restart job's values: a failed step as EMR described it, its lineage, and the two decisions.

Attempts follow the lineage of the original step: the original run is attempt 0, its k-th restart attempt k.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from pydantic import Field, model_validator

from emr_autoscaler.kernel.config.steps import SQS_MAX_DELAY_S
from emr_autoscaler.kernel.models import Frozen

# The marker a restarted step's name carries: "<original name> (retry k/N)".
RETRY_NAME_MARKER = re.compile(r" \(retry \d+/\d+\)$")


class StepRetryOutcome(StrEnum):
    """StepRetryOutcome is what became of a failed step's event or a due restart."""

    SCHEDULED = "scheduled"
    WAITING = "waiting"
    ADDED = "added"
    GIVEN_UP = "given_up"
    SKIPPED = "skipped"
    IGNORED = "ignored"


class StepRetryReason(StrEnum):
    """StepRetryReason is the machine-readable why of every step-retry outcome; docs/step-retry.md explains each."""

    RETRY_TRANSIENT_FAILURE = "RETRY_TRANSIENT_FAILURE"
    RETRY_UNKNOWN_FAILURE = "RETRY_UNKNOWN_FAILURE"
    RETRY_ADDED = "RETRY_ADDED"
    WAIT_FOR_EVIDENCE = "WAIT_FOR_EVIDENCE"
    GIVE_UP_PERMANENT_FAILURE = "GIVE_UP_PERMANENT_FAILURE"
    GIVE_UP_UNKNOWN_FAILURE = "GIVE_UP_UNKNOWN_FAILURE"
    GIVE_UP_ATTEMPTS_EXHAUSTED = "GIVE_UP_ATTEMPTS_EXHAUSTED"
    GIVE_UP_CLUSTER_TERMINATING = "GIVE_UP_CLUSTER_TERMINATING"
    GIVE_UP_STEP_CONFIG_UNREADABLE = "GIVE_UP_STEP_CONFIG_UNREADABLE"
    GIVE_UP_LINEAGE_UNKNOWN = "GIVE_UP_LINEAGE_UNKNOWN"
    GIVE_UP_CONFIG_INVALID = "GIVE_UP_CONFIG_INVALID"
    GIVE_UP_EXECUTION_ROLE_NOT_ALLOWED = "GIVE_UP_EXECUTION_ROLE_NOT_ALLOWED"
    SKIPPED_CLUSTER_NOT_OPTED_IN = "SKIPPED_CLUSTER_NOT_OPTED_IN"
    SKIPPED_RETRY_DISABLED = "SKIPPED_RETRY_DISABLED"
    SKIPPED_STEP_EXCLUDED = "SKIPPED_STEP_EXCLUDED"
    SKIPPED_ALREADY_HANDLED = "SKIPPED_ALREADY_HANDLED"
    IGNORED_UNKNOWN_STEP = "IGNORED_UNKNOWN_STEP"

    @property
    def retries(self) -> bool:
        """Retries is true for the codes that come with a restart (scheduled or added)."""
        return self.value.startswith("RETRY_")


class FailureDetails(Frozen):
    """FailureDetails is EMR's Status.FailureDetails of a step: why it failed and where its log is."""

    reason: str | None = None
    message: str | None = None
    log_file: str | None = None


class StepConfig(Frozen):
    """StepConfig is what AddJobFlowSteps needs to run a step again, exactly as it was submitted.

    `execution_role_arn` is the step's runtime role (DescribeStep's ExecutionRoleArn), None when it ran with the
    cluster's instance profile. AddJobFlowSteps takes one role per call, so steps with different roles are added
    in separate calls, in order.
    """

    name: str
    action_on_failure: str
    jar: str = Field(min_length=1)
    args: tuple[str, ...] = ()
    main_class: str | None = None
    properties: dict[str, str] = Field(default_factory=dict)
    execution_role_arn: str | None = None


class Finding(Frozen):
    """Finding is the evidence that classified a failure: which rule matched which line, where.

    `source` is `failure_details`, `yarn` (the YARN application's diagnostics) or `step_log` (a log file in S3);
    `field` the text the rule read (`reason`, `message`, `diagnostics`, `log`); `location` the log object's S3 URI,
    the application id, or EMR's LogFile.
    """

    source: str
    field: str
    rule: str
    line: str
    location: str | None = None

    @property
    def where(self) -> str:
        """Where names the evidence in a sentence ("the YARN diagnostics of application_…")."""
        if self.source == "yarn":
            return f"the YARN diagnostics of {self.location or 'the application'}"
        if self.source == "step_log":
            return f"the step log {self.location or ''}".rstrip()
        return f"EMR's FailureDetails {self.field}"


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
    started_at: datetime | None = None
    ended_at: datetime | None = None
    log_uri: str | None = None


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
    finding: Finding | None = None
    readd_cancelled: bool = True

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
    finding: Finding | None = None


class AwaitEvidence(Frozen):
    """AwaitEvidence is the decision to look again in `delay_s`: nothing classified the failure yet, and the step's
    logs are not in S3 yet (EMR archives them about every five minutes). `wait` counts from 1 to `max_waits`."""

    cluster_id: str
    step_id: str
    step_name: str
    wait: int = Field(gt=0)
    max_waits: int = Field(gt=0)
    delay_s: int = Field(ge=0, le=SQS_MAX_DELAY_S)
    not_before: datetime
    reason: StepRetryReason = StepRetryReason.WAIT_FOR_EVIDENCE
    explanation: str
    attempt: int = 0
    max_attempts: int = 0
    log_location: str | None = None


StepRetryDecision = RetryStep | GiveUp | AwaitEvidence


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


class EvidenceRecheck(Frozen):
    """EvidenceRecheck is the message that waits for a failed step's logs: decide again on `step` after the wait.

    `waits` is how many waits have passed (1 for the first recheck); the decision never waits more than the policy's
    `evidence_max_waits` in all.
    """

    recheck: AwaitEvidence
    step: FailedStep

    @property
    def waits(self) -> int:
        """Waits is how many waits this recheck ends."""
        return self.recheck.wait

"""Ports of the step-retry job: the narrow interfaces `StepRetrier` needs. Adapters implement them.

Only domain values cross a port; boto3 dicts stay inside the adapters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from emr_autoscaler.kernel.models import ClusterSnapshot
from emr_autoscaler.steps.domain.evidence import Evidence
from emr_autoscaler.steps.domain.models import (
    EvidenceRecheck,
    FailedStep,
    GiveUp,
    RetryStep,
    ScheduledRetry,
    StepConfig,
    StepLineage,
    StepRetryOutcome,
    StepRetryReason,
)


class StepNotFoundError(LookupError):
    """StepNotFoundError: EMR does not know the step id on this cluster."""


class ClaimInProgressError(RuntimeError):
    """ClaimInProgressError: another invocation is adding this restart right now; try again later."""


class ClaimOutcome(StrEnum):
    """ClaimOutcome is what became of an attempt to claim the add of restart (original step, attempt)."""

    CLAIMED = "claimed"
    TAKEN_OVER = "taken_over"
    ALREADY_ADDED = "already_added"
    ALREADY_GIVEN_UP = "already_given_up"
    IN_PROGRESS = "in_progress"


class EmrSteps(Protocol):
    """EmrSteps reads clusters and steps, and adds steps (DescribeCluster, DescribeStep, ListSteps, AddJobFlowSteps)."""

    def cluster(self, cluster_id: str) -> ClusterSnapshot:
        """Cluster returns the cluster's state and tags; raises ClusterNotFoundError."""
        ...

    def failed_step(self, cluster_id: str, step_id: str) -> FailedStep:
        """Failed_step returns the step with its config (None if unreadable) and failure details.

        Raises StepNotFoundError when EMR does not know the step.
        """
        ...

    def cancelled_followers(self, failed: FailedStep) -> tuple[tuple[str, StepConfig], ...]:
        """Cancelled_followers returns (step id, config) of the steps the failure cancelled, in submission order."""
        ...

    def add_steps(self, cluster_id: str, configs: Sequence[StepConfig]) -> tuple[str, ...]:
        """Add_steps adds the steps in order (one AddJobFlowSteps call) and returns their new ids."""
        ...

    def steps_named(self, cluster_id: str, name: str, since: datetime) -> tuple[str, ...]:
        """Steps_named returns the ids of steps called `name` created at or after `since` (recovery of a lost add)."""
        ...


class RetryQueue(Protocol):
    """RetryQueue holds a scheduled restart until its backoff has passed, then hands it back to the function."""

    def schedule(self, scheduled: ScheduledRetry) -> None:
        """Schedule enqueues the restart, delivered after `scheduled.retry.delay_s` seconds (≤ 900)."""
        ...

    def schedule_recheck(self, recheck: EvidenceRecheck) -> None:
        """Schedule_recheck enqueues a new look at the step's evidence, after `recheck.recheck.delay_s` seconds."""
        ...


class StepLogs(Protocol):
    """StepLogs reads the tail of a failed step's logs in S3 (stderr, controller, the LogFile EMR named)."""

    def read(self, cluster: ClusterSnapshot, step: FailedStep) -> tuple[Evidence, ...]:
        """Read returns one `log` Evidence per log object: FOUND with its last 256 KiB of text, NOT_YET when it is
        not archived yet, SKIPPED (with a note) when it cannot be read. Never raises for a bad object."""
        ...


class YarnApplications(Protocol):
    """YarnApplications reads the final status and diagnostics of a step's YARN applications from the cluster's
    ResourceManager (the same address and VPC placement as the metrics call)."""

    def diagnostics(
        self, cluster: ClusterSnapshot, step: FailedStep, application_ids: Sequence[str]
    ) -> tuple[Evidence, ...]:
        """Diagnostics returns one `diagnostics` Evidence per application (the ids named by the step's logs, else
        the applications the RM ran during the step); SKIPPED with a note when the RM does not answer, does not
        know the id, or the application is not the step's. Never raises."""
        ...


class LineageStore(Protocol):
    """LineageStore keeps which original step each added step restarts, and claims each restart's add once."""

    def lineage(self, cluster_id: str, step_id: str) -> StepLineage | None:
        """Lineage returns the step's place in its original's history, or None for a step we never added."""
        ...

    def claim(self, retry: RetryStep, now: datetime, lease_s: int) -> tuple[ClaimOutcome, datetime | None]:
        """Claim marks restart (original step, attempt) as being added, with a conditional write.

        Returns (outcome, the previous claim's time when a claim older than `lease_s` was taken over).
        """
        ...

    def release(self, retry: RetryStep, claimed_at: datetime) -> None:
        """Release deletes our claim (the add failed), so a redelivery can claim it again."""
        ...

    def record_added(self, retry: RetryStep, added: Sequence[tuple[str, StepLineage]], now: datetime) -> None:
        """Record_added marks the claim added and maps every new step id to its lineage."""
        ...

    def record_given_up(self, retry: RetryStep, decision: GiveUp, now: datetime) -> None:
        """Record_given_up marks the claim given up (a redelivery then does nothing and notifies nobody)."""
        ...


@dataclass(frozen=True)
class StepRetrySummary:
    """StepRetrySummary is one outcome of the step-restart job, with its reason code and sentence."""

    outcome: StepRetryOutcome
    reason: StepRetryReason
    explanation: str
    cluster_id: str
    step_id: str
    attempt: int = 0
    max_attempts: int = 0
    delay_s: int | None = None
    added_step_ids: tuple[str, ...] = ()
    # Which source classified the failure (failure_details, yarn, step_log), where, and the line that matched.
    evidence_source: str | None = None
    evidence_location: str | None = None
    evidence_line: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """As_dict is the JSON-ready form (the handler's result, and what Idempotency stores)."""
        return {
            "outcome": self.outcome.value,
            "reason": self.reason.value,
            "explanation": self.explanation,
            "cluster_id": self.cluster_id,
            "step_id": self.step_id,
            "attempt": self.attempt,
            "max_attempts": self.max_attempts,
            "delay_s": self.delay_s,
            "added_step_ids": list(self.added_step_ids),
            "evidence_source": self.evidence_source,
            "evidence_location": self.evidence_location,
            "evidence_line": self.evidence_line,
        }


class StepRetrySink(Protocol):
    """StepRetrySink records each outcome for logs and metrics."""

    def publish(self, summary: StepRetrySummary) -> None:
        """Publish logs the outcome and counts it."""
        ...


class OnceGuard(Protocol):
    """OnceGuard makes a function run once per key (Powertools Idempotency in Lambda; nothing in tests)."""

    def wrap(self, function: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        """Wrap returns `function` guarded; it is called with the keyword argument `event` (a JSON object)."""
        ...

    def register_context(self, context: Any) -> None:
        """Register_context hands the guard the Lambda context (remaining time bounds an in-progress record)."""
        ...

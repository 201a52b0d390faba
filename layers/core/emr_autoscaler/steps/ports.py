"""Ports of the step-retry job: the narrow interfaces `StepRetrier` needs. Adapters implement them.

Only domain values cross a port; boto3 dicts stay inside the adapters.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from emr_autoscaler.kernel.models import ClusterSnapshot
from emr_autoscaler.steps.domain.decide import (
    FailedStep,
    GiveUp,
    RetryStep,
    ScheduledRetry,
    StepConfig,
    StepLineage,
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

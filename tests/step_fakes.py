"""Fakes of the step-retry ports: in-memory, recording calls, able to inject the next error (no mocks, no network)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from emr_autoscaler.kernel.clusters import ClusterNotFoundError
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
    StepRetryReason,
)
from emr_autoscaler.steps.ports import ClaimOutcome, StepNotFoundError, StepRetrySummary

logger = logging.getLogger(__name__)


@dataclass
class FakeEmrSteps:
    """FakeEmrSteps holds clusters, failed steps and cancelled followers; `add_steps` records and returns new ids."""

    clusters: dict[str, ClusterSnapshot] = field(default_factory=dict)
    steps: dict[str, FailedStep] = field(default_factory=dict)
    followers: dict[str, tuple[tuple[str, StepConfig], ...]] = field(default_factory=dict)
    added: list[tuple[str, tuple[StepConfig, ...]]] = field(default_factory=list)
    next_add_error: Exception | None = None
    calls: list[str] = field(default_factory=list)

    def cluster(self, cluster_id: str) -> ClusterSnapshot:
        self.calls.append("cluster")
        if cluster_id not in self.clusters:
            raise ClusterNotFoundError(cluster_id)
        return self.clusters[cluster_id]

    def failed_step(self, cluster_id: str, step_id: str) -> FailedStep:
        self.calls.append("failed_step")
        if step_id not in self.steps:
            raise StepNotFoundError(step_id)
        return self.steps[step_id]

    def cancelled_followers(self, failed: FailedStep) -> tuple[tuple[str, StepConfig], ...]:
        self.calls.append("cancelled_followers")
        return self.followers.get(failed.step_id, ())

    def add_steps(self, cluster_id: str, configs: Sequence[StepConfig]) -> tuple[str, ...]:
        self.calls.append("add_steps")
        if self.next_add_error is not None:
            error, self.next_add_error = self.next_add_error, None
            raise error
        self.added.append((cluster_id, tuple(configs)))
        base = sum(len(c) for _, c in self.added) - len(configs)
        return tuple(f"s-NEW{base + i}" for i in range(len(configs)))

    def steps_named(self, cluster_id: str, name: str, since: datetime) -> tuple[str, ...]:
        self.calls.append("steps_named")
        return tuple(f"s-NEW{i}" for i, c in enumerate(c for _, cs in self.added for c in cs) if c.name == name)


@dataclass
class FakeRetryQueue:
    """FakeRetryQueue keeps scheduled restarts in order."""

    messages: list[ScheduledRetry] = field(default_factory=list)
    rechecks: list[EvidenceRecheck] = field(default_factory=list)

    def schedule(self, scheduled: ScheduledRetry) -> None:
        self.messages.append(scheduled)

    def schedule_recheck(self, recheck: EvidenceRecheck) -> None:
        self.rechecks.append(recheck)


@dataclass
class FakeStepLogs:
    """FakeStepLogs answers with the evidence set for each step id (none: nothing read), counting reads."""

    evidence: dict[str, tuple[Evidence, ...]] = field(default_factory=dict)
    reads: int = 0

    def read(self, cluster: ClusterSnapshot, step: FailedStep) -> tuple[Evidence, ...]:
        self.reads += 1
        return self.evidence.get(step.step_id, ())


@dataclass
class FakeYarnApplications:
    """FakeYarnApplications answers with the diagnostics set per application id, recording the ids asked for."""

    evidence: dict[str, Evidence] = field(default_factory=dict)
    asked: list[tuple[str, ...]] = field(default_factory=list)

    def diagnostics(
        self, cluster: ClusterSnapshot, step: FailedStep, application_ids: Sequence[str]
    ) -> tuple[Evidence, ...]:
        self.asked.append(tuple(application_ids))
        return tuple(self.evidence[a] for a in application_ids if a in self.evidence)


@dataclass
class InMemoryLineageStore:
    """InMemoryLineageStore has the table's semantics: one claim per (cluster, original step, attempt)."""

    aliases: dict[tuple[str, str], StepLineage] = field(default_factory=dict)
    claims: dict[tuple[str, str, int], tuple[str, datetime]] = field(default_factory=dict)

    def lineage(self, cluster_id: str, step_id: str) -> StepLineage | None:
        return self.aliases.get((cluster_id, step_id))

    def claim(self, retry: RetryStep, now: datetime, lease_s: int) -> tuple[ClaimOutcome, datetime | None]:
        key = (retry.cluster_id, retry.original_step_id, retry.attempt)
        current = self.claims.get(key)
        if current is None:
            self.claims[key] = ("ADDING", now)
            return ClaimOutcome.CLAIMED, None
        status, at = current
        if status == "ADDED":
            return ClaimOutcome.ALREADY_ADDED, None
        if status == "GIVEN_UP":
            return ClaimOutcome.ALREADY_GIVEN_UP, None
        if at < now - timedelta(seconds=lease_s):
            self.claims[key] = ("ADDING", now)
            return ClaimOutcome.TAKEN_OVER, at
        return ClaimOutcome.IN_PROGRESS, None

    def release(self, retry: RetryStep, claimed_at: datetime) -> None:
        key = (retry.cluster_id, retry.original_step_id, retry.attempt)
        if self.claims.get(key) == ("ADDING", claimed_at):
            del self.claims[key]

    def record_added(self, retry: RetryStep, added: Sequence[tuple[str, StepLineage]], now: datetime) -> None:
        self.claims[(retry.cluster_id, retry.original_step_id, retry.attempt)] = ("ADDED", now)
        for step_id, lineage in added:
            self.aliases[(retry.cluster_id, step_id)] = lineage

    def record_given_up(self, retry: RetryStep, decision: GiveUp, now: datetime) -> None:
        self.claims[(retry.cluster_id, retry.original_step_id, retry.attempt)] = ("GIVEN_UP", now)


class LoggingStepRetrySink:
    """LoggingStepRetrySink logs each outcome (the default; bootstrap adds EMF metrics)."""

    def publish(self, summary: StepRetrySummary) -> None:
        """Publish logs the outcome at info (debug for clusters that did not opt in)."""
        quiet = summary.reason in (StepRetryReason.SKIPPED_CLUSTER_NOT_OPTED_IN, StepRetryReason.IGNORED_UNKNOWN_STEP)
        (logger.debug if quiet else logger.info)(summary.explanation, extra=summary.as_dict())


class NoGuard:
    """NoGuard runs every call: the step-retry service without Idempotency (tests that drive it directly)."""

    def wrap(self, function: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        """Wrap returns the function unchanged."""
        return function

    def register_context(self, context: Any) -> None:
        """Register_context does nothing."""

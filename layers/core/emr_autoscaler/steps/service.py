"""Use cases of the restart-steps job: decide on a failed step, wait out the backoff, add the restart once.

`StepRetrier.handle_failure` runs on EMR's FAILED event: read the cluster, the step (config, FailureDetails) and
its lineage; ask `decide_step_retry`; when FailureDetails classify nothing, read more evidence (the step's logs in
S3, its YARN applications' diagnostics) and ask again; queue the restart with its backoff, queue a new look when the
logs are not archived yet (`recheck`), or give up; tell the bus either way.
`StepRetrier.execute_retry` runs when the backoff has passed (the retry queue's message): claim the restart
(conditional write on (original step, attempt)), re-check the cluster, add the step and the steps its failure
cancelled (in order), record the new step's lineage, tell the bus.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from emr_autoscaler.eventbridge import Ignored
from emr_autoscaler.kernel.clusters import ClusterNotFoundError
from emr_autoscaler.kernel.config.document import ConfigInvalidError
from emr_autoscaler.kernel.config.source import ConfigSource
from emr_autoscaler.kernel.events import AppDetailType, AppEvent, AppEventDetail, EventPublisher
from emr_autoscaler.kernel.models import ClusterSnapshot
from emr_autoscaler.steps.domain.decide import (
    decide_step_retry,
    give_up_config_invalid,
    lineage_of_unknown,
    needs_more_evidence,
    recheck_before_add,
    step_retry_notice_severity,
)
from emr_autoscaler.steps.domain.evidence import Evidence, EvidenceSource, application_ids, skipped_notes
from emr_autoscaler.steps.domain.models import (
    RETRY_NAME_MARKER,
    AwaitEvidence,
    EvidenceRecheck,
    FailedStep,
    GiveUp,
    RetryStep,
    ScheduledRetry,
    StepConfig,
    StepLineage,
    StepRetryDecision,
    StepRetryOutcome,
    StepRetryReason,
)
from emr_autoscaler.steps.ports import (
    ClaimInProgressError,
    ClaimOutcome,
    EmrSteps,
    LineageStore,
    OnceGuard,
    RetryQueue,
    StepLogs,
    StepNotFoundError,
    StepRetrySink,
    StepRetrySummary,
    YarnApplications,
)
from emr_autoscaler.steps.triggers import StepFailure, parse_retry_message, parse_step_failure

logger = logging.getLogger(__name__)

# A claim older than this was left by an invocation that died (the function times out after 60 s).
DEFAULT_LEASE_S = 120


class StepsNotAddedError(RuntimeError):
    """StepsNotAddedError: EMR's answer to AddJobFlowSteps lacked the new step ids, and no restart was found."""


@dataclass
class StepRetrier:
    """StepRetrier wires the step ports to the core. Build it once per cold start (see bootstrap).

    `jitter` draws from [0, 1) (random in production, fixed in tests); `guard` makes `handle_failure` run once
    per (cluster, step), however often EventBridge delivers the FAILED event. `logs` and `yarn` read the evidence
    beyond FailureDetails (None: that source is not read).
    """

    emr: EmrSteps
    lineage: LineageStore
    queue: RetryQueue
    config: ConfigSource
    clock: Callable[[], datetime]
    jitter: Callable[[], float]
    events: EventPublisher
    sink: StepRetrySink
    guard: OnceGuard
    logs: StepLogs | None = None
    yarn: YarnApplications | None = None
    lease_s: int = DEFAULT_LEASE_S

    def __post_init__(self) -> None:
        self._handle_once = self.guard.wrap(self._handle_failure)

    def register_context(self, context: Any) -> None:
        """Register_context passes the Lambda context to the once-guard."""
        self.guard.register_context(context)

    # ------------------------------------------------------------------ the FAILED event
    def handle_invocation(self, event: Any, context: Any) -> dict[str, Any]:
        """Handle_invocation serves one invocation of the step-retry function (handle_step_retry_invocation)."""
        return handle_step_retry_invocation(event, context, self)

    def handle_failure(self, failure: StepFailure) -> dict[str, Any]:
        """Handle_failure decides on one failed step and queues its restart or gives up; once per (cluster, step).

        Raises on AWS errors that survive botocore's retries, so EventBridge/Lambda retry the event and then
        deliver it to the dead-letter queue.
        """
        return self._handle_once(event=failure.model_dump(mode="json"))

    def _handle_failure(self, *, event: dict[str, Any]) -> dict[str, Any]:
        failure = StepFailure.model_validate(event)
        now = self.clock()
        try:
            cluster = self.emr.cluster(failure.cluster_id)
        except ClusterNotFoundError:
            return self._ignored(failure, f"EMR does not know cluster {failure.cluster_id}")
        step = FailedStep(
            cluster_id=failure.cluster_id,
            step_id=failure.step_id,
            name=failure.step_name,
            action_on_failure=failure.action_on_failure or "CONTINUE",
        )
        lineage = lineage_of_unknown(step)
        # A cluster that did not opt in is refused by the core before the step and its lineage are read.
        if cluster.opted_in:
            try:
                step = self.emr.failed_step(failure.cluster_id, failure.step_id)
            except StepNotFoundError:
                return self._ignored(failure, f"EMR does not know step {failure.step_id} on {failure.cluster_id}")
            lineage = self.lineage.lineage(step.cluster_id, step.step_id) or lineage_of_unknown(step)
        return self._decide(cluster, step, lineage, now, waits=0)

    def recheck(self, message: EvidenceRecheck) -> dict[str, Any]:
        """Recheck decides again on a failed step whose logs were not archived yet, with the evidence there now.

        A redelivered recheck decides again; the restart it may schedule is still added once (the add's claim).
        """
        step = message.step
        now = self.clock()
        try:
            cluster = self.emr.cluster(step.cluster_id)
        except ClusterNotFoundError:
            failure = StepFailure(event_id="", cluster_id=step.cluster_id, step_id=step.step_id, step_name=step.name)
            return self._ignored(failure, f"EMR no longer knows cluster {step.cluster_id}")
        lineage = self.lineage.lineage(step.cluster_id, step.step_id) or lineage_of_unknown(step)
        return self._decide(cluster, step, lineage, now, waits=message.waits)

    def _decide(
        self, cluster: ClusterSnapshot, step: FailedStep, lineage: StepLineage, now: datetime, waits: int
    ) -> dict[str, Any]:
        try:
            document = self.config.current()
        except ConfigInvalidError as error:
            decision: StepRetryDecision = give_up_config_invalid(step, lineage, str(error))
        else:
            _, policy, _ = document.policy_for(cluster.profile_name)
            jitter = self.jitter()
            decision = decide_step_retry(step, cluster, lineage, policy.step_retry, now, jitter, waits=waits)
            if needs_more_evidence(decision) or waits > 0:
                evidence = self._evidence(cluster, step)
                decision = decide_step_retry(step, cluster, lineage, policy.step_retry, now, jitter, evidence, waits)
        if isinstance(decision, AwaitEvidence):
            self.queue.schedule_recheck(EvidenceRecheck(recheck=decision, step=step))
            return self._queued(StepRetryOutcome.WAITING, decision, decision.step_id, cluster.name)
        if isinstance(decision, RetryStep):
            self.queue.schedule(ScheduledRetry(retry=decision, step=step))
            return self._queued(StepRetryOutcome.SCHEDULED, decision, decision.failed_step_id, cluster.name)
        return self._gave_up(decision, cluster.name)

    def _queued(
        self, outcome: StepRetryOutcome, decision: RetryStep | AwaitEvidence, step_id: str, cluster_name: str
    ) -> dict[str, Any]:
        """A restart (or a new look at the evidence) is queued: summarise it; only a restart is news."""
        summary = StepRetrySummary(
            outcome=outcome,
            reason=decision.reason,
            explanation=decision.explanation,
            cluster_id=decision.cluster_id,
            step_id=step_id,
            attempt=decision.attempt,
            max_attempts=decision.max_attempts,
            delay_s=decision.delay_s,
        )
        return self._finish(summary, decision if isinstance(decision, RetryStep) else None, cluster_name)

    def _evidence(self, cluster: ClusterSnapshot, step: FailedStep) -> tuple[Evidence, ...]:
        """The step's logs first (they name its YARN applications), then those applications' diagnostics."""
        logs = self.logs.read(cluster, step) if self.logs is not None else ()
        named = application_ids(e.text for e in logs if e.source is EvidenceSource.STEP_LOG)
        yarn = self.yarn.diagnostics(cluster, step, named) if self.yarn is not None else ()
        evidence = (*yarn, *logs)
        for note in skipped_notes(evidence):
            logger.info("evidence for step %s on %s: %s", step.step_id, step.cluster_id, note)
        return evidence

    # ------------------------------------------------------------------ the backoff has passed
    def execute_retry(self, scheduled: ScheduledRetry) -> dict[str, Any]:
        """Execute_retry adds the restart and the steps its failure cancelled, at most once per (original, attempt).

        Raises ClaimInProgressError when another delivery is adding it right now, and AWS errors after releasing
        the claim: the message is then redelivered (and, after the queue's receive limit, dead-lettered).
        """
        retry = scheduled.retry
        now = self.clock()
        outcome, previous = self.lineage.claim(retry, now, self.lease_s)
        if outcome in (ClaimOutcome.ALREADY_ADDED, ClaimOutcome.ALREADY_GIVEN_UP):
            return self._skipped(retry, "an earlier delivery of this restart already handled it")
        if outcome is ClaimOutcome.IN_PROGRESS:
            raise ClaimInProgressError(
                f"restart {retry.attempt} of {retry.original_step_id} on {retry.cluster_id} is being added now"
            )
        try:
            added = self._add(scheduled, now, previous)
        except Exception:
            self.lineage.release(retry, now)
            raise
        return added

    def _add(self, scheduled: ScheduledRetry, now: datetime, previous: datetime | None) -> dict[str, Any]:
        retry = scheduled.retry
        try:
            cluster = self.emr.cluster(retry.cluster_id)
        except ClusterNotFoundError:
            cluster = None
        refusal = recheck_before_add(cluster, retry)
        if refusal is not None:
            self.lineage.record_given_up(retry, refusal, now)
            return self._gave_up(refusal, cluster.name if cluster else None)
        retry_lineage = StepLineage(
            cluster_id=retry.cluster_id,
            original_step_id=retry.original_step_id,
            original_name=retry.step_name,
            attempt=retry.attempt,
        )
        if previous is not None:
            # The claim was taken over from an invocation that died: it may have added the step before dying.
            found = self.emr.steps_named(retry.cluster_id, retry.retry_name, previous)
            if found:
                self.lineage.record_added(retry, [(found[0], retry_lineage)], now)
                return self._skipped(retry, f"a previous delivery added it as {found[0]} before it stopped")
        followers = self.emr.cancelled_followers(scheduled.step) if retry.readd_cancelled else ()
        step_ids = self._add_steps(retry, [scheduled.retry_config, *(c for _, c in followers)], now)
        if isinstance(step_ids, str):
            self.lineage.record_added(retry, [(step_ids, retry_lineage)], now)
            return self._skipped(retry, f"EMR took it as {step_ids} although its answer to AddJobFlowSteps was lost")
        added: list[tuple[str, StepLineage]] = [(step_ids[0], retry_lineage)]
        for new_id, (old_id, config) in zip(step_ids[1:], followers, strict=False):
            # A cancelled follower that is itself a restart keeps its lineage; others are originals (no record).
            if RETRY_NAME_MARKER.search(config.name):
                known = self.lineage.lineage(retry.cluster_id, old_id)
                if known is not None:
                    added.append((new_id, known))
        self.lineage.record_added(retry, added, now)
        names = ", ".join(f"'{c.name}'" for _, c in followers)
        explanation = (
            f"Restarted step '{retry.step_name}' on cluster {cluster.name if cluster else ''} ({retry.cluster_id}) "
            f"as {step_ids[0]} (retry {retry.attempt}/{retry.max_attempts})"
            + (f", followed by the {len(followers)} step(s) its failure cancelled: {names}." if followers else ".")
        )
        summary = StepRetrySummary(
            outcome=StepRetryOutcome.ADDED,
            reason=StepRetryReason.RETRY_ADDED,
            explanation=explanation,
            cluster_id=retry.cluster_id,
            step_id=retry.failed_step_id,
            attempt=retry.attempt,
            max_attempts=retry.max_attempts,
            added_step_ids=step_ids,
        )
        return self._finish(summary, retry, cluster.name if cluster else None)

    def _add_steps(self, retry: RetryStep, configs: list[StepConfig], since: datetime) -> tuple[str, ...] | str:
        """Add the steps; when EMR's answer is lost or garbled, return the restart's id if EMR took it anyway.

        AddJobFlowSteps has no idempotency token: a timeout, a 5xx or an answer without the new ids may follow an
        add that happened. Releasing the claim then would let the redelivery add the restart a second time, so EMR
        is asked (ListSteps, by the restart's unique name) before the failure is passed on.
        """
        try:
            step_ids = self.emr.add_steps(retry.cluster_id, configs)
        except Exception:
            found = self.emr.steps_named(retry.cluster_id, retry.retry_name, since)
            if found:
                return found[0]
            raise
        if len(step_ids) == len(configs):
            return step_ids
        found = self.emr.steps_named(retry.cluster_id, retry.retry_name, since)
        if found:
            return found[0]
        raise StepsNotAddedError(
            f"EMR answered AddJobFlowSteps on {retry.cluster_id} with {len(step_ids)} id(s) for {len(configs)} step(s)"
        )

    # ------------------------------------------------------------------ outcomes
    def _ignored(self, failure: StepFailure, why: str) -> dict[str, Any]:
        summary = StepRetrySummary(
            outcome=StepRetryOutcome.IGNORED,
            reason=StepRetryReason.IGNORED_UNKNOWN_STEP,
            explanation=f"Ignoring the failure of step {failure.step_id}: {why}.",
            cluster_id=failure.cluster_id,
            step_id=failure.step_id,
        )
        logger.warning(summary.explanation, extra=summary.as_dict())
        return self._finish(summary, None, None)

    def _skipped(self, retry: RetryStep, why: str) -> dict[str, Any]:
        summary = StepRetrySummary(
            outcome=StepRetryOutcome.SKIPPED,
            reason=StepRetryReason.SKIPPED_ALREADY_HANDLED,
            explanation=(
                f"Skipping restart {retry.attempt} of step '{retry.step_name}' ({retry.original_step_id}): {why}."
            ),
            cluster_id=retry.cluster_id,
            step_id=retry.failed_step_id,
            attempt=retry.attempt,
            max_attempts=retry.max_attempts,
        )
        return self._finish(summary, retry, None)

    def _gave_up(self, decision: GiveUp, cluster_name: str | None) -> dict[str, Any]:
        skipped = decision.reason.value.startswith("SKIPPED_")
        summary = StepRetrySummary(
            outcome=StepRetryOutcome.SKIPPED if skipped else StepRetryOutcome.GIVEN_UP,
            reason=decision.reason,
            explanation=decision.explanation,
            cluster_id=decision.cluster_id,
            step_id=decision.step_id,
            attempt=decision.attempt,
            max_attempts=decision.max_attempts,
        )
        return self._finish(summary, decision, cluster_name)

    def _finish(
        self, summary: StepRetrySummary, decision: RetryStep | GiveUp | None, cluster_name: str | None
    ) -> dict[str, Any]:
        finding = decision.finding if decision is not None else None
        if finding is not None:
            summary = replace(
                summary, evidence_source=finding.source, evidence_location=finding.location, evidence_line=finding.line
            )
        self.sink.publish(summary)
        severity = step_retry_notice_severity(summary.reason)
        if severity is not None and decision is not None:
            self._notify(summary, decision, severity, cluster_name)
        return summary.as_dict()

    def _notify(self, summary: StepRetrySummary, decision: RetryStep | GiveUp, severity: Any, name: str | None) -> None:
        detail_type = {
            StepRetryOutcome.SCHEDULED: AppDetailType.STEP_RETRY_SCHEDULED,
            StepRetryOutcome.ADDED: AppDetailType.STEP_RETRY_ADDED,
        }.get(summary.outcome, AppDetailType.STEP_RETRY_GIVEN_UP)
        data: dict[str, Any] = {"rule": decision.rule}
        if decision.finding is not None:
            data.update(
                evidence_source=decision.finding.source,
                evidence_line=decision.finding.line,
                evidence_location=decision.finding.location,
            )
        if isinstance(decision, RetryStep):
            data.update(
                original_step_id=decision.original_step_id,
                delay_s=decision.delay_s,
                not_before=decision.not_before.isoformat(),
                added_step_ids=list(summary.added_step_ids),
            )
        action = {
            StepRetryOutcome.SCHEDULED: (
                f"restart {summary.attempt}/{summary.max_attempts} queued, due in {summary.delay_s} s"
            ),
            StepRetryOutcome.ADDED: f"added {', '.join(summary.added_step_ids)}",
        }.get(summary.outcome, "not restarted: a person must look at the step")
        event = AppEvent(
            detail_type=detail_type,
            detail=AppEventDetail(
                reason_code=summary.reason.value,
                explanation=summary.explanation,
                severity=severity,
                cluster_id=summary.cluster_id,
                cluster_name=name,
                action=action,
                step_id=summary.step_id,
                step_name=decision.step_name,
                state="FAILED",
                log_location=decision.log_location,
                attempt=summary.attempt,
                max_attempts=summary.max_attempts,
                data={k: v for k, v in data.items() if v is not None},
            ),
        )
        try:
            self.events.publish([event])
        except Exception:
            # The restart (or the refusal) stands; a lost notice is logged, never a reason to act again.
            logger.exception("could not publish the step-retry notice for %s", summary.step_id)


def handle_step_retry_invocation(event: Any, context: Any, retrier: StepRetrier) -> dict[str, Any]:
    """Handle_step_retry_invocation serves both triggers of the step-retry function.

    An SQS batch (the retry queue) is processed record by record with Powertools' BatchProcessor and partial
    failure reporting: a failed record alone is redelivered. An EventBridge FAILED event is decided once.
    """
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    retrier.register_context(context)
    if isinstance(event, Mapping) and isinstance(event.get("Records"), list):
        processor = BatchProcessor(event_type=EventType.SQS)

        def record_handler(record: Any) -> dict[str, Any]:
            message = parse_retry_message(record.body)
            if isinstance(message, EvidenceRecheck):
                return retrier.recheck(message)
            return retrier.execute_retry(message)

        response = process_partial_response(
            event=dict(event), record_handler=record_handler, processor=processor, context=context
        )
        return dict(response)
    trigger = parse_step_failure(event)
    if isinstance(trigger, Ignored):
        logger.warning("event ignored: %s", trigger.reason)
        return {"ignored": True, "reason": trigger.reason}
    return retrier.handle_failure(trigger)

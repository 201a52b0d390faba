"""The jobs' outcome sinks on Powertools: each decision or step-restart outcome logged with its reason code and
counted in EMF metrics. Only the builders that need them import them (the other handlers' cold start skips them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit

from emr_autoscaler.adapters.powertools.logging import logger
from emr_autoscaler.adapters.powertools.metrics import metrics
from emr_autoscaler.scaling.domain.decisions import Direction, Outcome, ReasonCode, ResizePlan
from emr_autoscaler.steps.domain.models import StepRetryOutcome, StepRetryReason

if TYPE_CHECKING:
    from emr_autoscaler.steps.ports import StepRetrySummary


class PowertoolsDecisionSink:
    """PowertoolsDecisionSink logs every decision with its reason and counts it in EMF metrics.

    Metrics: `ScaleOut`/`ScaleIn` (count of actions), `NodesAdded`/`NodesRemoved`, `ManagedScalingTuned` (limits
    written instead of a resize), `Hold` and `Decision` with a
    `Reason` dimension through the per-reason metric name `Decision_<REASON>` (EMF dimensions are per flush, so a
    name per reason keeps one flush per invocation), and `DecisionLatency` in milliseconds.
    """

    def publish(self, plan: ResizePlan, outcome: Outcome, latency_ms: float | None = None) -> None:
        """Publish logs the decision and adds its metrics to the current flush."""
        # Clusters that never opted in are evaluated every minute: keep them out of the info log.
        log = logger.debug if plan.reason is ReasonCode.HOLD_CLUSTER_NOT_OPTED_IN else logger.info
        log(
            plan.explanation,
            extra={
                "cluster_id": plan.cluster_id,
                "reason_code": plan.reason.value,
                "outcome": outcome.value,
                "commands": [c.model_dump(mode="json") for c in plan.commands],
                **({"managed_scaling": plan.managed_scaling.describe()} if plan.managed_scaling else {}),
            },
        )
        metrics.add_metric(name=f"Decision_{plan.reason.value}", unit=MetricUnit.Count, value=1)
        if latency_ms is not None:
            metrics.add_metric(name="DecisionLatency", unit=MetricUnit.Milliseconds, value=latency_ms)
        if outcome is not Outcome.APPLIED:
            if not plan.reason.acts:
                metrics.add_metric(name="Hold", unit=MetricUnit.Count, value=1)
            return
        if plan.managed_scaling is not None:
            # No node was resized: managed scaling's limits were (it resizes within them, its own metrics count it).
            metrics.add_metric(name="ManagedScalingTuned", unit=MetricUnit.Count, value=1)
            return
        for command in plan.commands:
            delta = abs(command.to_count - command.from_count)
            if command.direction is Direction.OUT:
                metrics.add_metric(name="NodesAdded", unit=MetricUnit.Count, value=delta)
            else:
                metrics.add_metric(name="NodesRemoved", unit=MetricUnit.Count, value=delta)
        name = "ScaleOut" if plan.nodes_delta > 0 else "ScaleIn"
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


_OUTCOME_METRIC = {
    StepRetryOutcome.SCHEDULED: "StepRetryScheduled",
    StepRetryOutcome.ADDED: "StepRetryAdded",
    StepRetryOutcome.GIVEN_UP: "StepRetryGivenUp",
}


class PowertoolsStepRetrySink:
    """PowertoolsStepRetrySink publishes outcomes through the module-level Powertools Logger and Metrics."""

    def publish(self, summary: StepRetrySummary) -> None:
        """Publish logs the outcome (debug for clusters that did not opt in) and adds its metrics."""
        quiet = summary.reason is StepRetryReason.SKIPPED_CLUSTER_NOT_OPTED_IN
        log = logger.debug if quiet else logger.info
        log(summary.explanation, extra={**summary.as_dict(), "reason_code": summary.reason.value})
        metrics.add_metric(name=f"StepRetry_{summary.reason.value}", unit=MetricUnit.Count, value=1)
        name = _OUTCOME_METRIC.get(summary.outcome)
        if name:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
        if summary.delay_s is not None and summary.outcome is StepRetryOutcome.SCHEDULED:
            metrics.add_metric(name="StepRetryDelay", unit=MetricUnit.Seconds, value=summary.delay_s)


class PowertoolsBatchMetrics:
    """PowertoolsBatchMetrics reports each batch of queued evaluations as EMF metrics: the API budget and its use.

    `EvaluationBudget` is the event source mapping's maximum concurrency (the bound on parallel evaluations, hence
    on the account's EMR call rate together with botocore's adaptive retry mode); `AwsCallsPerEvaluation` and
    `AwsCallRate` (calls per second of this invocation) are the observed use; `EvaluationsFailed` the records left
    for the queue to retry.
    """

    def batch(self, *, evaluated: int, failed: int, api_calls: int, elapsed_s: float, budget: int) -> None:
        """Batch adds the batch's metrics to the invocation's flush."""
        metrics.add_metric(name="EvaluationBudget", unit=MetricUnit.Count, value=budget)
        metrics.add_metric(name="Evaluations", unit=MetricUnit.Count, value=evaluated)
        metrics.add_metric(name="EvaluationsFailed", unit=MetricUnit.Count, value=failed)
        if evaluated:
            metrics.add_metric(name="AwsCallsPerEvaluation", unit=MetricUnit.Count, value=api_calls / evaluated)
        if elapsed_s > 0:
            metrics.add_metric(name="AwsCallRate", unit=MetricUnit.CountPerSecond, value=api_calls / elapsed_s)

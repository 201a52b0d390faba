"""PowertoolsStepRetrySink: logs each step-retry outcome and counts it in EMF metrics.

Metrics: `StepRetry_<REASON>` (one name per reason code, as the scaler's `Decision_<REASON>`), `StepRetryScheduled`,
`StepRetryAdded`, `StepRetryGivenUp`, and `StepRetryDelay` in seconds.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from emr_autoscaler.adapters.powertools.observability import logger, metrics
from emr_autoscaler.steps.domain.decide import StepRetryReason
from emr_autoscaler.steps.service import StepRetrySummary

_OUTCOME_METRIC = {"scheduled": "StepRetryScheduled", "added": "StepRetryAdded", "given_up": "StepRetryGivenUp"}


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
        if summary.delay_s is not None:
            metrics.add_metric(name="StepRetryDelay", unit=MetricUnit.Seconds, value=summary.delay_s)

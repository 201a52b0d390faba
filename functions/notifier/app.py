"""Notifier function: EMR cluster/step failures and the autoscaler's own events -> alerting channels."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from emr_autoscaler import bootstrap
from emr_autoscaler.adapters.powertools.logging import logger
from emr_autoscaler.adapters.powertools.metrics import metrics
from emr_autoscaler.adapters.powertools.tracing import tracer


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda_handler delivers the event's notice (folded, routed); raises only if a dead letter cannot be kept."""
    return bootstrap.notifier().handle(event)

"""Scaler function: EventBridge schedule, CloudWatch alarm and EMR instance group/fleet events -> one evaluation."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from emr_autoscaler import bootstrap
from emr_autoscaler.adapters.powertools.logging import logger
from emr_autoscaler.adapters.powertools.metrics import metrics
from emr_autoscaler.adapters.powertools.tracing import tracer
from emr_autoscaler.scaling.triggers import parse_scaler_trigger


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda_handler parses the trigger and runs the evaluation it asks for; failures raise (retry, then DLQ)."""
    settings = bootstrap.settings()
    trigger = parse_scaler_trigger(event, settings.alarm_prefix)
    return bootstrap.scaler().handle(trigger, settings.max_concurrency)

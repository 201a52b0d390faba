"""Scaler function: the schedule, alarms and instance group events enqueue evaluations; queue batches run them."""

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
    """Lambda_handler enqueues what an EventBridge trigger asks for, or evaluates a batch of the evaluation queue
    (returning `batchItemFailures`); failures raise (retry, then DLQ)."""
    trigger = parse_scaler_trigger(event, bootstrap.settings().alarm_prefix)
    return bootstrap.scaler().handle(trigger)

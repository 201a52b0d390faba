"""Cluster watch function: EMR cluster state changes and a 5-minute schedule -> registry and alarms."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from emr_autoscaler import bootstrap
from emr_autoscaler.adapters.powertools.logging import logger
from emr_autoscaler.adapters.powertools.metrics import metrics
from emr_autoscaler.adapters.powertools.tracing import tracer
from emr_autoscaler.watch.triggers import parse_watch_trigger


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda_handler registers/unregisters the cluster or reconciles alarms; failures raise (retry, then DLQ)."""
    return bootstrap.cluster_watch().handle(parse_watch_trigger(event))

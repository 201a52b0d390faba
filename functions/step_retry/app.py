"""Step-retry function: EMR step FAILED events (EventBridge) and due restarts (SQS retry queue) -> one service call."""

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
    """Lambda_handler decides on a failed step or adds a due restart; AWS failures raise (retry, then DLQ).

    An SQS batch returns `batchItemFailures` (partial failure reporting): only failed records are redelivered.
    """
    return bootstrap.step_retrier().handle_invocation(event, context)

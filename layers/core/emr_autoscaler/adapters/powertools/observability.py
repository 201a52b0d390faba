"""Observability: module-level Powertools Logger, Metrics (EMF) and Tracer, and the decision sink that uses them."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from emr_autoscaler.scaling.domain.decisions import Direction, ReasonCode, ResizePlan

SERVICE = "emr-autoscaler"
NAMESPACE = "EmrAutoscaler"

PACKAGE = "emr_autoscaler"

logger = Logger(service=SERVICE)
metrics = Metrics(service=SERVICE, namespace=NAMESPACE)


def _route_package_loggers() -> None:
    """In Lambda, send the package's standard loggers (adapters, use cases) through Powertools' JSON formatter,
    so their lines carry the same keys (cluster id, request id) as the decision lines."""
    from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

    logging.getLogger(PACKAGE)  # make sure the package's top logger exists to be configured
    copy_config_to_registered_loggers(source_logger=logger, include={PACKAGE})


if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):  # set by the Lambda runtime; tests and the sandbox keep stdlib logging
    _route_package_loggers()


@contextmanager
def cluster_log_context(cluster_id: str) -> Iterator[None]:
    """Cluster_log_context adds `cluster_id` to every log line of this thread while one cluster is evaluated."""
    logger.thread_safe_append_keys(cluster_id=cluster_id)
    try:
        yield
    finally:
        logger.thread_safe_remove_keys(["cluster_id"])


_F = TypeVar("_F", bound=Callable[..., Any])


class _NoTracer:
    """_NoTracer stands in for Powertools' Tracer when tracing is off: the X-Ray SDK it would import costs about
    150-180 ms of every cold start, for traces nobody records."""

    def capture_lambda_handler(self, handler: _F) -> _F:
        """Capture_lambda_handler returns the handler unchanged."""
        return handler

    def capture_method(self, method: _F) -> _F:
        """Capture_method returns the method unchanged."""
        return method


def _tracer() -> Any:
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() in ("1", "true"):
        return _NoTracer()
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)


tracer = _tracer()


class PowertoolsDecisionSink:
    """PowertoolsDecisionSink logs every decision with its reason and counts it in EMF metrics.

    Metrics: `ScaleOut`/`ScaleIn` (count of actions), `NodesAdded`/`NodesRemoved`, `Hold` and `Decision` with a
    `Reason` dimension through the per-reason metric name `Decision_<REASON>` (EMF dimensions are per flush, so a
    name per reason keeps one flush per invocation), and `DecisionLatency` in milliseconds.
    """

    def publish(self, plan: ResizePlan, outcome: str, latency_ms: float | None = None) -> None:
        """Publish logs the decision and adds its metrics to the current flush."""
        # Clusters that never opted in are evaluated every minute: keep them out of the info log.
        log = logger.debug if plan.reason is ReasonCode.HOLD_CLUSTER_NOT_OPTED_IN else logger.info
        log(
            plan.explanation,
            extra={
                "cluster_id": plan.cluster_id,
                "reason_code": plan.reason.value,
                "outcome": outcome,
                "commands": [c.model_dump(mode="json") for c in plan.commands],
            },
        )
        metrics.add_metric(name=f"Decision_{plan.reason.value}", unit=MetricUnit.Count, value=1)
        if latency_ms is not None:
            metrics.add_metric(name="DecisionLatency", unit=MetricUnit.Milliseconds, value=latency_ms)
        if outcome != "applied":
            if not plan.reason.acts:
                metrics.add_metric(name="Hold", unit=MetricUnit.Count, value=1)
            return
        for command in plan.commands:
            delta = abs(command.to_count - command.from_count)
            if command.direction is Direction.OUT:
                metrics.add_metric(name="NodesAdded", unit=MetricUnit.Count, value=delta)
            else:
                metrics.add_metric(name="NodesRemoved", unit=MetricUnit.Count, value=delta)
        name = "ScaleOut" if plan.nodes_delta > 0 else "ScaleIn"
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def config_invalid(message: str) -> None:
    """Config_invalid counts a refused configuration document (`ConfigInvalid` metric); the source logs it."""
    metrics.add_metric(name="ConfigInvalid", unit=MetricUnit.Count, value=1)

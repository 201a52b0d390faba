"""Powertools Metrics (EMF): the module-level flush of every handler, and the counts every job adds to it."""

from __future__ import annotations

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from emr_autoscaler.adapters.powertools.logging import SERVICE

NAMESPACE = "EmrAutoscaler"

metrics = Metrics(service=SERVICE, namespace=NAMESPACE)


def config_invalid(message: str) -> None:
    """Config_invalid counts a refused configuration document (`ConfigInvalid` metric); the source logs it."""
    metrics.add_metric(name="ConfigInvalid", unit=MetricUnit.Count, value=1)


def count_metric(name: str, value: int) -> None:
    """Count_metric adds a Count metric (`NotificationSent`, `NotificationFolded`, `NotificationDeadLettered`,
    `NotificationFallback`) to the invocation's Powertools EMF flush."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

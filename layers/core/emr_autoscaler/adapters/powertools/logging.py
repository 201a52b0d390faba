"""Powertools Logger: the module-level logger of every handler, and per-cluster keys on every log line."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from aws_lambda_powertools import Logger

SERVICE = "emr-autoscaler"
PACKAGE = "emr_autoscaler"

logger = Logger(service=SERVICE)


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

"""Log lines carry the cluster being evaluated; in Lambda, the package's own loggers write Powertools JSON."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys

from emr_autoscaler.adapters.powertools.logging import cluster_log_context, logger


def test_lines_inside_an_evaluation_carry_the_cluster_id() -> None:
    # GIVEN the Powertools logger writing to a buffer
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    # WHEN a line is logged while a cluster is evaluated, and one after
    try:
        with cluster_log_context("j-ABC"):
            logger.warning("inside")
        logger.warning("outside")
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    # THEN only the first carries the cluster id
    assert lines[-2]["message"] == "inside"
    assert lines[-2]["cluster_id"] == "j-ABC"
    assert "cluster_id" not in lines[-1]


def test_in_lambda_adapter_loggers_write_json_with_the_cluster_id() -> None:
    # GIVEN a process that looks like Lambda (the runtime sets AWS_LAMBDA_FUNCTION_NAME)
    code = (
        "import logging\n"
        "from emr_autoscaler.adapters.powertools.logging import cluster_log_context\n"
        "with cluster_log_context('j-XYZ'):\n"
        "    logging.getLogger('emr_autoscaler.adapters.yarn.resourcemanager').warning('no answer from the RM')\n"
    )
    env = {**os.environ, "AWS_LAMBDA_FUNCTION_NAME": "emr-autoscaler-scaler", "POWERTOOLS_TRACE_DISABLED": "true"}
    # WHEN an adapter logs a warning during an evaluation
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)  # noqa: S603
    line = json.loads(result.stdout.strip().splitlines()[-1])
    # THEN the line is Powertools JSON with the service, the logger's name and the cluster id
    assert line["message"] == "no answer from the RM"
    assert line["service"] == "emr-autoscaler"
    assert line["cluster_id"] == "j-XYZ"
    assert line["name"] == "emr_autoscaler.adapters.yarn.resourcemanager"

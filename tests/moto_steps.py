"""Helpers that make moto's EMR steps fail: moto steps never fail by themselves, so the tests reach its backend.

The mechanics are the Sandbox's (`emr_autoscaler_dev.sandbox.steps`); these wrappers keep the tests' call shapes.
"""

from __future__ import annotations

from typing import Any

from emr_autoscaler_dev.sandbox import steps as sandbox_steps

REGION = "eu-west-1"
moto_steps = sandbox_steps.moto_steps


def add_steps(emr: Any, cluster_id: str, *names: str, action: str = "CANCEL_AND_WAIT") -> list[str]:
    """Add_steps submits spark steps, one second apart in moto's timeline (EMR orders steps by creation time)."""
    ids: list[str] = []
    for name in names:
        response = emr.add_job_flow_steps(
            JobFlowId=cluster_id,
            Steps=[
                {
                    "Name": name,
                    "ActionOnFailure": action,
                    "HadoopJarStep": {
                        "Jar": "command-runner.jar",
                        "Args": ["spark-submit", f"s3://jobs/{name}.py"],
                        "Properties": [{"Key": "job", "Value": name}],
                    },
                }
            ],
        )
        ids.extend(response["StepIds"])
    sandbox_steps.space_creation_times(cluster_id)
    return ids


def fail_step(cluster_id: str, step_id: str, reason: str, message: str = "") -> None:
    """Fail_step makes the step FAILED with FailureDetails, and (CANCEL_AND_WAIT) its pending followers CANCELLED."""
    log = f"s3://aws-logs/elasticmapreduce/{cluster_id}/steps/{step_id}/"
    sandbox_steps.fail(cluster_id, step_id, reason, message or reason, log)

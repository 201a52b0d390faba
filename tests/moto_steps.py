"""Helpers that make moto's EMR steps fail: moto steps never fail by themselves, so the tests reach its backend."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from moto.backends import get_backend
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.utils import utcnow
from moto.emr.models import Step

REGION = "eu-west-1"


class _FailedStep(Step):
    """A moto Step whose Status carries FailureDetails (moto's own Step has none)."""

    __module__ = "moto.emr.models"  # moto's model metaclass derives the service from the module name

    failure_details: dict[str, str]

    @property
    def status(self) -> dict[str, Any]:
        status = dict(super().status)
        status["FailureDetails"] = self.failure_details
        return status


def moto_steps(cluster_id: str) -> list[Any]:
    """Moto_steps is the cluster's step list inside moto's backend.

    Any region: moto in server mode files EMR calls on a loopback endpoint under its default region.
    """
    for backend in get_backend("emr")[DEFAULT_ACCOUNT_ID].values():
        if cluster_id in backend.clusters:
            return list(backend.clusters[cluster_id].steps)
    raise KeyError(cluster_id)


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
    base = utcnow() - timedelta(hours=1)  # naive UTC, as moto keeps its times
    for i, step in enumerate(moto_steps(cluster_id)):
        step.creation_date_time = base + timedelta(seconds=i)
    return ids


def fail_step(
    cluster_id: str,
    step_id: str,
    reason: str,
    message: str = "",
    cancel_pending: bool = True,
) -> None:
    """Fail_step makes the step FAILED with FailureDetails, and (CANCEL_AND_WAIT) its pending followers CANCELLED."""
    log = f"s3://aws-logs/elasticmapreduce/{cluster_id}/steps/{step_id}/"
    for step in moto_steps(cluster_id):
        if step.id == step_id:
            step.state = "FAILED"
            step.__class__ = _FailedStep
            step.failure_details = {"Reason": reason, "Message": message or reason, "LogFile": log}
        elif cancel_pending and step.state == "PENDING":
            step.state = "CANCELLED"

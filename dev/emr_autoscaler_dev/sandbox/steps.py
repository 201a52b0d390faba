"""EMR steps as the sandbox emulates them: moto's steps never run, finish or fail by themselves, and carry no
FailureDetails and no runtime role. These helpers drive them in moto's backend (in process) and let EMR's step events
follow; a step's runtime role is the attribute DescribeStep renders as `ExecutionRoleArn`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from moto.core.utils import utcnow
from moto.emr.models import Step


class _FailedStep(Step):
    """A moto Step whose Status carries FailureDetails, as EMR reports them."""

    __module__ = "moto.emr.models"  # moto's model metaclass derives the service from the module name

    failure_details: dict[str, str]

    @property
    def status(self) -> dict[str, Any]:
        status = dict(super().status)
        status["FailureDetails"] = self.failure_details
        return status


def moto_steps(cluster_id: str) -> list[Any]:
    """Moto_steps is the cluster's step list inside moto's backend (whichever region moto filed it under)."""
    from moto.backends import get_backend

    backends = get_backend("emr")
    for account in backends:
        for region in backends[account]:
            backend = backends[account][region]
            if cluster_id in backend.clusters:
                return list(backend.clusters[cluster_id].steps)
    raise KeyError(cluster_id)


def space_creation_times(cluster_id: str) -> None:
    """Give steps distinct creation times in submission order (EMR orders steps by them; moto reverses ties)."""
    base = utcnow() - timedelta(hours=1)
    for i, step in enumerate(moto_steps(cluster_id)):
        step.creation_date_time = base + timedelta(seconds=i)


def step(cluster_id: str, step_id: str) -> Any:
    """Step returns one moto step; KeyError if unknown."""
    for candidate in moto_steps(cluster_id):
        if candidate.id == step_id:
            return candidate
    raise KeyError(step_id)


def set_role(cluster_id: str, step_ids: list[str], execution_role_arn: str | None) -> None:
    """Set_role gives the steps the runtime role AddJobFlowSteps was called with (DescribeStep's ExecutionRoleArn)."""
    if execution_role_arn:
        for step_id in step_ids:
            step(cluster_id, step_id).execution_role_arn = execution_role_arn


def fail(
    cluster_id: str,
    step_id: str,
    reason: str,
    message: str,
    log_file: str,
    started: datetime | None = None,
    ended: datetime | None = None,
) -> list[str]:
    """Fail marks the step FAILED with FailureDetails and its run's times (naive UTC, as moto keeps them); with
    CANCEL_AND_WAIT its pending followers are CANCELLED.

    Returns the ids of the cancelled steps.
    """
    failed = step(cluster_id, step_id)
    failed.state = "FAILED"
    if started is not None:
        failed.start_date_time = started.replace(tzinfo=None)
    if ended is not None:
        failed.end_date_time = ended.replace(tzinfo=None)
    failed.__class__ = _FailedStep
    failed.failure_details = {"Reason": reason, "Message": message, "LogFile": log_file}
    cancelled: list[str] = []
    if failed.action_on_failure == "CANCEL_AND_WAIT":
        for candidate in moto_steps(cluster_id):
            if candidate.state == "PENDING":
                candidate.state = "CANCELLED"
                cancelled.append(candidate.id)
    return cancelled

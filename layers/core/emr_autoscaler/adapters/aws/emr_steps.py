"""EmrStepsClient: the EmrSteps port over boto3's EMR client.

Calls: DescribeCluster (through EmrInstanceGroups), DescribeStep, ListSteps, AddJobFlowSteps.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from pydantic import ValidationError

from emr_autoscaler.adapters.aws.emr import EmrInstanceGroups
from emr_autoscaler.kernel.models import ClusterSnapshot
from emr_autoscaler.steps.domain.models import FailedStep, FailureDetails, StepConfig
from emr_autoscaler.steps.ports import StepNotFoundError

if TYPE_CHECKING:
    from mypy_boto3_emr import EMRClient

logger = logging.getLogger(__name__)

# A step cancelled more than this before the failure ended was cancelled by someone else, not by the failure.
_CANCEL_TOLERANCE = timedelta(seconds=60)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def config_from(name: str, action_on_failure: str, raw: Any, execution_role_arn: Any = None) -> StepConfig | None:
    """Config_from translates DescribeStep/ListSteps `Config` (HadoopStepConfig) into a StepConfig, or None.

    `execution_role_arn` is DescribeStep's ExecutionRoleArn (ListSteps does not return it).
    """
    if not isinstance(raw, dict):
        return None
    execution_role_arn = execution_role_arn or None
    try:
        return StepConfig(
            name=name,
            action_on_failure=action_on_failure,
            jar=raw.get("Jar") or "",
            args=tuple(str(a) for a in raw.get("Args") or ()),
            main_class=raw.get("MainClass") or None,
            properties={str(k): str(v) for k, v in (raw.get("Properties") or {}).items()},
            execution_role_arn=execution_role_arn if isinstance(execution_role_arn, str) else None,
        )
    except (ValidationError, AttributeError, TypeError):
        return None


def _same_role_runs(configs: Sequence[StepConfig]) -> list[list[StepConfig]]:
    """Consecutive configs with the same runtime role: AddJobFlowSteps takes one ExecutionRoleArn per call."""
    runs: list[list[StepConfig]] = []
    for config in configs:
        if runs and runs[-1][0].execution_role_arn == config.execution_role_arn:
            runs[-1].append(config)
        else:
            runs.append([config])
    return runs


def _step_request(config: StepConfig) -> dict[str, Any]:
    jar_step: dict[str, Any] = {"Jar": config.jar, "Args": list(config.args)}
    if config.main_class:
        jar_step["MainClass"] = config.main_class
    if config.properties:
        jar_step["Properties"] = [{"Key": k, "Value": v} for k, v in config.properties.items()]
    return {"Name": config.name[:256], "ActionOnFailure": config.action_on_failure, "HadoopJarStep": jar_step}


class EmrStepsClient:
    """EmrStepsClient reads failed steps and their cancelled followers, and adds steps, through one EMR client."""

    def __init__(
        self, client: EMRClient, clock: Callable[[], datetime] = _utcnow, add_client: EMRClient | None = None
    ) -> None:
        """`add_client` makes the AddJobFlowSteps calls: give it one without botocore retries (see bootstrap)."""
        self._client = client
        self._add_client = add_client or client
        self._clusters = EmrInstanceGroups(client, clock=clock)

    def cluster(self, cluster_id: str) -> ClusterSnapshot:
        """Cluster returns the cluster's state and tags (DescribeCluster); raises ClusterNotFoundError."""
        return self._clusters.describe(cluster_id)

    def _describe(self, cluster_id: str, step_id: str) -> Any:
        try:
            step = self._client.describe_step(ClusterId=cluster_id, StepId=step_id).get("Step") or {}
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"InvalidRequestException", "ResourceNotFoundException"}:
                raise StepNotFoundError(f"EMR does not know step {step_id} on {cluster_id}") from error
            raise
        if step.get("Id") != step_id:
            raise StepNotFoundError(f"EMR does not know step {step_id} on {cluster_id}")
        return step

    def failed_step(self, cluster_id: str, step_id: str) -> FailedStep:
        """Failed_step reads the step (DescribeStep): config and runtime role, ActionOnFailure, FailureDetails,
        timeline, and the step's own LogUri (StepMonitoringConfiguration) when it has one."""
        step = self._describe(cluster_id, step_id)
        name = step.get("Name", "")
        action = step.get("ActionOnFailure", "CONTINUE")
        status: Any = step.get("Status") or {}
        details: Any = status.get("FailureDetails") or {}
        timeline: Any = status.get("Timeline") or {}
        return FailedStep(
            cluster_id=cluster_id,
            step_id=step_id,
            name=name,
            action_on_failure=action,
            state=status.get("State", ""),
            failure=FailureDetails(
                reason=details.get("Reason"), message=details.get("Message"), log_file=details.get("LogFile")
            )
            if details
            else None,
            config=config_from(name, action, step.get("Config"), step.get("ExecutionRoleArn")),
            created_at=_time(timeline.get("CreationDateTime")),
            started_at=_time(timeline.get("StartDateTime")),
            ended_at=_time(timeline.get("EndDateTime")),
            log_uri=step.get("LogUri") or None,
        )

    def cancelled_followers(self, failed: FailedStep) -> tuple[tuple[str, StepConfig], ...]:
        """Cancelled_followers lists CANCELLED steps submitted at or after the failed one, in submission order.

        Only a CANCEL_AND_WAIT failure cancels its followers. ListSteps returns steps newest first, so the pages
        are read until a step older than the failed one; ties in creation time keep ListSteps' reverse order.
        ListSteps does not return ExecutionRoleArn, so each follower is described (DescribeStep) for its role.
        """
        if failed.action_on_failure != "CANCEL_AND_WAIT" or failed.created_at is None:
            return ()
        found: list[tuple[datetime, int, str, StepConfig]] = []
        position = 0
        pages = self._client.get_paginator("list_steps").paginate(ClusterId=failed.cluster_id, StepStates=["CANCELLED"])
        for page in pages:
            older_seen = False
            for raw in page.get("Steps", []):
                position += 1
                created = _time((raw.get("Status") or {}).get("Timeline", {}).get("CreationDateTime"))
                ended = _time((raw.get("Status") or {}).get("Timeline", {}).get("EndDateTime"))
                if raw.get("Id") == failed.step_id or created is None:
                    continue
                if created < failed.created_at:
                    older_seen = True
                    continue
                if ended and failed.ended_at and ended < failed.ended_at - _CANCEL_TOLERANCE:
                    continue
                config = config_from(raw.get("Name", ""), raw.get("ActionOnFailure", "CONTINUE"), raw.get("Config"))
                if config is None:
                    logger.warning("cancelled step %s has no readable config; not re-queued", raw.get("Id"))
                    continue
                found.append((created, -position, raw["Id"], config))
            if older_seen:
                break
        found.sort(key=lambda item: (item[0], item[1]))
        return tuple((step_id, self._with_role(failed.cluster_id, step_id, config)) for _, _, step_id, config in found)

    def _with_role(self, cluster_id: str, step_id: str, config: StepConfig) -> StepConfig:
        role = self._describe(cluster_id, step_id).get("ExecutionRoleArn")
        return config.model_copy(update={"execution_role_arn": role}) if isinstance(role, str) and role else config

    def add_steps(self, cluster_id: str, configs: Sequence[StepConfig]) -> tuple[str, ...]:
        """Add_steps adds the steps in order and returns their ids: one AddJobFlowSteps call per run of steps with
        the same runtime role (ExecutionRoleArn is one per call), in order, so the queue keeps their order.

        A later call that fails raises after earlier ones added their steps: the service then finds the restart by
        its name and records it, so it is never added twice (the steps of the failed call are not re-added).
        """
        ids: list[str] = []
        for run in _same_role_runs(configs):
            request: dict[str, Any] = {"JobFlowId": cluster_id, "Steps": [_step_request(c) for c in run]}
            if run[0].execution_role_arn:
                request["ExecutionRoleArn"] = run[0].execution_role_arn
            response = self._add_client.add_job_flow_steps(**request)
            ids.extend(response.get("StepIds", []))
        return tuple(ids)

    def steps_named(self, cluster_id: str, name: str, since: datetime) -> tuple[str, ...]:
        """Steps_named returns ids of steps called `name` created at or after `since` (newest pages only)."""
        ids: list[str] = []
        for page in self._client.get_paginator("list_steps").paginate(ClusterId=cluster_id):
            steps = page.get("Steps", [])
            for raw in steps:
                created = _time((raw.get("Status") or {}).get("Timeline", {}).get("CreationDateTime"))
                if created is not None and created >= since - _CANCEL_TOLERANCE and raw.get("Name") == name:
                    ids.append(raw["Id"])
            last = _time((steps[-1].get("Status") or {}).get("Timeline", {}).get("CreationDateTime")) if steps else None
            if last is None or last < since - _CANCEL_TOLERANCE:
                break
        return tuple(ids)

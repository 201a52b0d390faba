"""Sandbox: the whole SAM application running locally from template.yaml on an embedded AWS (moto server).

A facade over collaborating parts, each in its own module: the provisioner creates what the template declares
(`provisioner.py`), the router delivers events through the template's own EventBridge patterns and queues
(`router.py`), the runtime calls `functions/<name>/app.lambda_handler` under the function's template environment
(`runtime.py`), the clock fires schedules on simulated time (`clock.py`), and the EMR emulator supplies what moto's
EMR lacks (`emr.py`): resizes that take time, EMR's state-change events, a YARN ResourceManager per cluster.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from emr_autoscaler import bootstrap
from emr_autoscaler.adapters.aws.dynamodb.registry import DynamoRegistry
from emr_autoscaler.kernel.models import RegisteredCluster
from emr_autoscaler_dev.sandbox.clock import START, Clock
from emr_autoscaler_dev.sandbox.emr import EmrEmulator
from emr_autoscaler_dev.sandbox.esm import Poll, remember_deduplication_ids
from emr_autoscaler_dev.sandbox.functions import SandboxError, SandboxFunction
from emr_autoscaler_dev.sandbox.local_aws import LocalAws, moto_backends
from emr_autoscaler_dev.sandbox.moto_speed import speed_up_moto
from emr_autoscaler_dev.sandbox.provisioner import ROOT, Provisioner, check_emulated
from emr_autoscaler_dev.sandbox.router import EventRouter
from emr_autoscaler_dev.sandbox.runtime import Invocation, LambdaRuntime
from emr_autoscaler_dev.sandbox.sink import HttpSink, ReceivedMessage
from emr_autoscaler_dev.sandbox.template import load_template

__all__ = ["Invocation", "Sandbox", "SandboxError"]

# The console's default custom automatic scaling rules: one node more under 15 % YARN memory available, one less
# above 75 % (https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-automatic-scaling.html).
_DEFAULT_AUTO_SCALING_POLICY: dict[str, Any] = {
    "Constraints": {"MinCapacity": 2, "MaxCapacity": 10},
    "Rules": [
        {
            "Name": name,
            "Action": {
                "SimpleScalingPolicyConfiguration": {
                    "AdjustmentType": "CHANGE_IN_CAPACITY",
                    "ScalingAdjustment": step,
                    "CoolDown": 300,
                }
            },
            "Trigger": {
                "CloudWatchAlarmDefinition": {
                    "ComparisonOperator": operator,
                    "EvaluationPeriods": 1,
                    "MetricName": "YARNMemoryAvailablePercentage",
                    "Namespace": "AWS/ElasticMapReduce",
                    "Period": 300,
                    "Statistic": "AVERAGE",
                    "Threshold": threshold,
                    "Unit": "PERCENT",
                    "Dimensions": [{"Key": "JobFlowId", "Value": "${emr.clusterId}"}],
                }
            },
        }
        for name, step, operator, threshold in (
            ("Default-scale-out", 1, "LESS_THAN", 15.0),
            ("Default-scale-in", -1, "GREATER_THAN", 75.0),
        )
    ],
}


class Sandbox:
    """Sandbox runs the application locally; use it as a context manager (or a pytest fixture).

    `config_text` replaces the configuration parameter's value; `on_line` receives one line per thing EMR does
    (and per handler failure). The parts are built on entry: `provisioner`, `runtime`, `router`, `emr_emulator`.
    """

    def __init__(
        self,
        template: Path = ROOT / "template.yaml",
        stack_name: str = "emr-autoscaler",
        config_text: str | None = None,
        start: datetime = START,
        start_delay_s: int = 360,
        decommission_s: int = 120,
        on_line: Callable[[str], None] | None = None,
        log_archive_delay_s: int = 300,
    ) -> None:
        self.template_path = template
        self.stack_name = stack_name
        self.config_text = config_text
        self.clock = Clock(start)
        self.start_delay = timedelta(seconds=start_delay_s)
        self.decommission = timedelta(seconds=decommission_s)
        self.log_archive_delay = timedelta(seconds=log_archive_delay_s)
        self.on_line = on_line or (lambda _line: None)
        self.functions: dict[str, SandboxFunction] = {}
        self.invocations: list[Invocation] = []
        self.failures: list[Invocation] = []
        self._holding = False
        self._stack = ExitStack()
        self.aws: LocalAws
        self.sink: HttpSink
        self.provisioner: Provisioner
        self.emr_emulator: EmrEmulator
        self.runtime: LambdaRuntime
        self.router: EventRouter

    def __enter__(self) -> Sandbox:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        bootstrap.set_clock(None)
        bootstrap.reset()
        self._stack.close()

    def _start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        template = load_template(self.template_path)
        check_emulated(template)
        self.aws = self._stack.enter_context(LocalAws())
        self._stack.callback(speed_up_moto())
        self.sink = self._stack.enter_context(HttpSink())
        self.emr_emulator = self._stack.enter_context(
            EmrEmulator(
                self.aws,
                self.clock,
                self.emit,
                self.on_line,
                self.start_delay,
                self.decommission,
                self.log_archive_delay,
            )
        )
        self.provisioner = Provisioner(template, self.stack_name, self.aws, self.sink, self.functions)
        self.provisioner.create()
        if self.config_text is not None:
            self.set_config(self.config_text)
        environment = {"EMR_AUTOSCALER_RESOURCEMANAGER_PORT": str(self.emr_emulator.rm_port)}
        self.runtime = LambdaRuntime(
            self.functions,
            self.aws,
            self.clock,
            self.stack_name,
            environment,
            self.on_line,
            self.invocations,
            self.failures,
        )
        self.router = EventRouter(self.runtime, self.aws, self.clock, self.provisioner.queue_urls)
        self._stack.callback(remember_deduplication_ids(self.clock))
        bootstrap.set_clock(lambda: self.clock.now)
        bootstrap.reset()

    @property
    def now(self) -> datetime:
        """Now is the simulated time (UTC)."""
        return self.clock.now

    @property
    def emr(self) -> Any:
        """Emr is a boto3 EMR client bound to the sandbox."""
        return self.aws.client("emr")

    def client(self, service: str) -> Any:
        """Client is a boto3 client for any service, bound to the sandbox."""
        return self.aws.client(service)

    def set_config(self, text: str) -> None:
        """Set_config stores a configuration document in the template's parameter (the functions validate it) and
        points each notification channel's secret at the local sink (`/<type>/<channel>`)."""
        self.provisioner.set_config(text)

    def advance(self, minutes: int = 1, each_minute: Callable[[int], None] | None = None) -> None:
        """Advance moves the simulated clock minute by minute: resizes complete, schedules fire, events flow."""
        for _ in range(minutes):
            self.clock.tick()
            self.emr_emulator.tick()
            if each_minute is not None:
                each_minute(self.clock.minute)
            self.router.fire_schedules()
            self.router.deliver()

    def put_event(self, event: dict[str, Any], bus: str = "default") -> None:
        """Put_event puts an EventBridge event (EventBridge's JSON shape) on a bus; the template's rules route it."""
        self.router.put_event(event, bus)

    def emit(self, source: str, detail_type: str, detail: dict[str, Any]) -> None:
        """Emit puts an AWS-service-shaped event (e.g. aws.emr) on the default bus and delivers what it routes."""
        self.router.emit(source, detail_type, detail, deliver=not self._holding)

    def deliver(self) -> int:
        """Deliver hands every event waiting in a rule's queue (and every due SQS message) to its function."""
        return self.router.deliver()

    def invoke(self, logical_id: str, event: Any, dead_letter_url: str | None = None) -> Invocation:
        """Invoke calls a function's handler with `event` under its template environment (see LambdaRuntime)."""
        return self.runtime.invoke(logical_id, event, dead_letter_url)

    def create_cluster(
        self,
        name: str = "etl-nightly",
        core: int = 2,
        task: int = 2,
        instance_type: str = "m5.xlarge",
        tags: dict[str, str] | None = None,
        collection: str = "group",
        primaries: int = 1,
        am_label: str | None = None,
        spot_task: int | None = None,
    ) -> str:
        """Create_cluster starts an opted-in cluster with a YARN ResourceManager and announces it (RUNNING);
        `collection="fleet"` makes it an instance-fleet cluster (a TASK fleet of two weighted types, on Spot).
        `primaries=3`: three primary nodes, one active ResourceManager and two standbys that redirect to it (see
        `fail_over`); `am_label="CORE"`: ApplicationMasters pinned to CORE nodes (see `set_yarn(pending_ams=)`);
        `spot_task` gives an instance-group cluster a Spot TASK group of that many nodes beside its On-Demand one."""
        return self.emr_emulator.create_cluster(
            name,
            core,
            task,
            instance_type,
            tags,
            collection,
            primaries=primaries,
            am_label=am_label,
            spot_task=spot_task,
        )

    # ------------------------------------------------------------------ primary nodes and node labels
    def fail_over(self, cluster_id: str) -> str:
        """Fail_over moves the cluster's active ResourceManager to its next primary node (the others redirect to
        it); returns the new active RM's `http://host:port`."""
        return self.emr_emulator.fail_over(cluster_id)

    def redirect_standbys(self, cluster_id: str, base: str) -> None:
        """Redirect_standbys makes the cluster's standby RMs redirect every call to `base` (`http://host:port`)."""
        self.emr_emulator.redirect_standbys(cluster_id, base)

    def starve_spot(self, cluster_id: str, minutes: int) -> None:
        """Starve_spot leaves the cluster's Spot requests unfilled for `minutes`: a fleet's Spot target, or a Spot
        instance group's growth (the group stays RESIZING); EMR says so with its insufficient-capacity event, and a
        fleet's request times out after its Spot timeout."""
        self.emr_emulator.fleets.starve_spot(cluster_id, minutes)

    def interrupt_spot(self, cluster_id: str, count: int) -> list[str]:
        """Interrupt_spot sends EC2's two-minute warning for `count` Spot nodes of the TASK fleet, which are then
        lost (EMR provisions the fleet back to its target); returns their instance ids."""
        return self.emr_emulator.fleets.interrupt_spot(cluster_id, count)

    def fleet(self, cluster_id: str, role: str = "TASK") -> dict[str, Any]:
        """Fleet is one fleet of a fleet cluster as ListInstanceFleets reports it."""
        return self.emr_emulator.fleets.fleet(cluster_id, role)

    def create_clusters(
        self,
        count: int,
        name_prefix: str = "fleet",
        core: int = 2,
        task: int = 0,
        instance_type: str = "m5.xlarge",
        tags: dict[str, str] | None = None,
        demand_mb: int = 0,
        announce: bool = True,
    ) -> list[str]:
        """Create_clusters starts `count` light opted-in clusters at once (sharing one ResourceManager and one steady
        YARN load of `demand_mb`) and returns their ids. `announce`: EMR's RUNNING event reaches the cluster watch,
        which registers each and creates its alarms; else each is written straight to the registry, as the watch's
        quarter-hour sync would (no alarms; a thousand register in seconds rather than minutes)."""
        self._holding = True  # one delivery for all their RUNNING events, not one per event
        try:
            ids = self.emr_emulator.create_clusters(count, name_prefix, core, task, instance_type, tags, demand_mb)
        finally:
            self._holding = False
        if announce:
            self.deliver()
            return ids
        self.router.discard_rule_events("ClusterWatchFunction")
        registry = DynamoRegistry(
            self.client("dynamodb"), self.functions["ClusterWatchFunction"].environment["EMR_AUTOSCALER_STATE_TABLE"]
        )
        for i, cluster_id in enumerate(ids):
            registry.register(
                RegisteredCluster(
                    cluster_id=cluster_id, name=f"{name_prefix}-{i}", state="RUNNING", registered_at=self.now
                )
            )
        return ids

    # ------------------------------------------------------------------ other scalers
    def attach_managed_scaling(
        self,
        cluster_id: str,
        minimum: int = 2,
        maximum: int = 20,
        unit_type: str = "Instances",
        maximum_on_demand: int | None = None,
        maximum_core: int | None = None,
    ) -> dict[str, Any]:
        """Attach_managed_scaling puts an EMR Managed Scaling policy on the cluster (PutManagedScalingPolicy, which
        moto lacks and the sandbox emulates, see managed_scaling.py); managed scaling then resizes its TASK group to
        the YARN demand within the limits. Returns the policy."""
        return self.emr_emulator.managed.attach(
            cluster_id, minimum, maximum, unit_type, maximum_on_demand, maximum_core
        )

    def managed_scaling(self, cluster_id: str) -> dict[str, Any] | None:
        """Managed_scaling is the cluster's managed scaling ComputeLimits now (None: no policy attached)."""
        return self.emr_emulator.managed.limits(cluster_id)

    def managed_scaling_puts(self) -> list[tuple[str, dict[str, Any]]]:
        """Managed_scaling_puts are the policies written through PutManagedScalingPolicy, in order."""
        return list(self.emr_emulator.managed.puts)

    def fail_managed_scaling(self, cluster_id: str, code: str | None) -> None:
        """Fail_managed_scaling makes GetManagedScalingPolicy of this cluster fail with `code` (None: answer again)."""
        self.emr_emulator.managed.fail(cluster_id, code)

    def attach_auto_scaling_policy(self, cluster_id: str, role: str = "TASK") -> str:
        """Attach_auto_scaling_policy gives the cluster's group of `role` a custom automatic scaling policy (moto's
        PutAutoScalingPolicy: the console's default YARN memory rules); returns the group id."""
        groups = self.emr.list_instance_groups(ClusterId=cluster_id)["InstanceGroups"]
        group_id = str(next(g["Id"] for g in groups if g["InstanceGroupType"] == role))
        self.emr.put_auto_scaling_policy(
            ClusterId=cluster_id, InstanceGroupId=group_id, AutoScalingPolicy=_DEFAULT_AUTO_SCALING_POLICY
        )
        return group_id

    def fail_api(self, cluster_id: str, code: str | None) -> None:
        """Fail_api makes EMR's DescribeCluster of this cluster fail with `code` (None: answer again)."""
        self.emr_emulator.fail_api(cluster_id, code)

    def evaluation_polls(self) -> list[Poll]:
        """Evaluation_polls are the scaler's invocations by its evaluation queue's event source mapping, in order."""
        return list(self.router.mapping("ScalerFunction", "Evaluations").polls)

    def set_yarn(
        self, cluster_id: str, demand_mb: int, apps: int | None = None, *, reserved_mb: int = 0, pending_ams: int = 0
    ) -> None:
        """Set_yarn sets the YARN demand (memory asked for, allocated as capacity allows, the rest pending);
        `reserved_mb` is memory the RM reserves for containers that do not fit yet, `pending_ams` new applications
        whose ApplicationMaster waits (on CORE only, for a cluster created with `am_label="CORE"`)."""
        self.emr_emulator.set_yarn(cluster_id, demand_mb, apps, reserved_mb=reserved_mb, pending_ams=pending_ams)

    def nodes(self, cluster_id: str) -> dict[str, tuple[int, int]]:
        """Nodes returns (running, requested) per group role, as EMR reports them."""
        return self.emr_emulator.nodes(cluster_id)

    def yarn_metrics(self, cluster_id: str) -> dict[str, Any]:
        """Yarn_metrics is the `clusterMetrics` the cluster's emulated ResourceManager serves now."""
        return self.emr_emulator.yarn_metrics(cluster_id)

    def add_steps(
        self,
        cluster_id: str,
        *names: str,
        action_on_failure: str = "CANCEL_AND_WAIT",
        execution_role_arn: str | None = None,
    ) -> list[str]:
        """Add_steps submits Spark steps (PENDING, in order), with a runtime role if given, and returns their ids."""
        return self.emr_emulator.add_steps(
            cluster_id, *names, action_on_failure=action_on_failure, execution_role_arn=execution_role_arn
        )

    def steps(self, cluster_id: str) -> list[dict[str, Any]]:
        """Steps lists the cluster's steps as EMR's ListSteps returns them, oldest first."""
        return self.emr_emulator.steps(cluster_id)

    def complete_step(self, cluster_id: str, step_id: str) -> None:
        """Complete_step marks a step COMPLETED and emits its state change."""
        self.emr_emulator.complete_step(cluster_id, step_id)

    def fail_step(
        self,
        cluster_id: str,
        step_id: str,
        reason: str = "Unknown Error.",
        message: str = "",
        log_file: str | None = None,
        *,
        stderr: str | None = None,
        diagnostics: str | None = None,
        archive_delay_s: int | None = None,
        gzip_logs: bool = True,
    ) -> list[str]:
        """Fail_step makes a step FAILED with FailureDetails (cancelling its pending followers under CANCEL_AND_WAIT)
        and emits EMR's `EMR Step Status Change` event; returns the cancelled step ids.

        Its YARN application (FAILED, with `diagnostics`) is on the cluster's ResourceManager at once; its logs
        (`stderr.gz` ending in `stderr`, `controller.gz`) reach the cluster's LogUri in S3 after `archive_delay_s`
        (default: the sandbox's `log_archive_delay_s`, 300 s), gzipped unless `gzip_logs` is false.
        """
        delay = None if archive_delay_s is None else timedelta(seconds=archive_delay_s)
        return self.emr_emulator.fail_step(
            cluster_id,
            step_id,
            reason,
            message,
            log_file,
            stderr=stderr,
            diagnostics=diagnostics,
            archive_delay=delay,
            gzip_logs=gzip_logs,
        )

    def s3_objects(self, bucket: str, prefix: str = "") -> dict[str, bytes]:
        """S3_objects returns the objects under `prefix` in a bucket of the local AWS (key -> body)."""
        s3 = self.aws.client("s3")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
        return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}

    @property
    def notifications(self) -> list[ReceivedMessage]:
        """Notifications is what the local HTTP sink received (Slack, Teams, webhook channels)."""
        return list(self.sink.received)

    def sns_messages(self) -> list[dict[str, Any]]:
        """Sns_messages is what was published to the template's SNS topics."""
        return [
            {"topic": arn, "subject": sent[2], "message": sent[1]}
            for backend in moto_backends("sns")
            for arn, topic in backend.topics.items()
            for sent in topic.sent_notifications
        ]

    @property
    def decisions(self) -> list[dict[str, Any]]:
        """Decisions are the scaler's decisions, in order, each with the simulated time it was made."""
        return self.runtime.decisions

    def dead_letters(self) -> dict[str, list[Any]]:
        """Dead_letters returns, per template queue used as a dead-letter queue, the messages it holds."""
        return self.runtime.dead_letters()

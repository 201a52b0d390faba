"""EmrEmulator: what moto's EMR lacks, emulated where the autoscaler can tell.

Resizes take time (requested != running meanwhile, the group RESIZING), steps fail and complete on command with
`FailureDetails`, EMR's state-change events follow with their real shapes, and each cluster has a YARN
ResourceManager on its own loopback address (so the scaler finds it through DescribeCluster, as in AWS), serving
metrics computed from the simulated demand and the nodes actually running.
"""

from __future__ import annotations

import itertools
import socket
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from emr_autoscaler.kernel.config.scaling import DEFAULT_NODE_CAPACITY
from emr_autoscaler_dev.sandbox import steps as emr_steps
from emr_autoscaler_dev.sandbox.clock import Clock
from emr_autoscaler_dev.sandbox.functions import SandboxError
from emr_autoscaler_dev.sandbox.local_aws import LocalAws, moto_backends
from emr_autoscaler_dev.sandbox.provision import create_cluster as _run_job_flow
from emr_autoscaler_dev.sandbox.template import ACCOUNT_ID, REGION
from emr_autoscaler_dev.sandbox.yarn import YarnResourceManagerEmulator, cluster_metrics

Emit = Callable[[str, str, dict[str, Any]], None]


@dataclass
class _GroupResize:
    group: Any
    running: int
    target: int
    due: datetime


@dataclass
class _EmuCluster:
    cluster_id: str
    name: str
    address: str
    yarn: YarnResourceManagerEmulator
    demand_mb: int = 0
    apps: int = 0
    light: bool = False


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class EmrEmulator:
    """EmrEmulator patches moto's EMR while entered (a context manager) and runs each cluster's ResourceManager.

    `emit` puts EMR's events on the bus; a resize adding nodes takes `start_delay`, one removing them `decommission`.
    Every ResourceManager listens on the same port (`rm_port`), each on its own loopback address, as on EMR.
    """

    def __init__(
        self,
        aws: LocalAws,
        clock: Clock,
        emit: Emit,
        on_line: Callable[[str], None],
        start_delay: timedelta,
        decommission: timedelta,
    ) -> None:
        self.aws = aws
        self.clock = clock
        self.emit = emit
        self.on_line = on_line
        self.start_delay = start_delay
        self.decommission = decommission
        self.rm_port = 0
        self._stack = ExitStack()
        self._resizes: dict[str, _GroupResize] = {}
        self._clusters: dict[str, _EmuCluster] = {}
        self._addresses = (f"127.0.{n // 250}.{2 + n % 250}" for n in itertools.count(0))
        # EMR API errors to answer for a cluster (cluster id -> error code), as `fail_api` sets them.
        self.api_errors: dict[str, str] = {}

    def __enter__(self) -> EmrEmulator:
        self.rm_port = _free_port("127.0.0.1")
        self._stack.callback(_patch_moto_emr(self))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stack.close()

    @property
    def emr(self) -> Any:
        """Emr is a boto3 EMR client bound to the local AWS."""
        return self.aws.client("emr")

    # ------------------------------------------------------------------ clusters and YARN
    def create_cluster(
        self,
        name: str = "etl-nightly",
        core: int = 2,
        task: int = 2,
        instance_type: str = "m5.xlarge",
        tags: dict[str, str] | None = None,
    ) -> str:
        """Create_cluster starts an opted-in cluster with a YARN ResourceManager and announces it (RUNNING)."""
        cluster_id = _run_job_flow(self.emr, name=name, core=core, task=task, instance_type=instance_type, tags=tags)
        address = next(self._addresses)
        yarn = self._stack.enter_context(YarnResourceManagerEmulator(host=address, port=self.rm_port))
        self._clusters[cluster_id] = _EmuCluster(cluster_id, name, address, yarn)
        self._refresh_yarn(cluster_id)
        self._announce(cluster_id, name)
        return cluster_id

    def _announce(self, cluster_id: str, name: str) -> None:
        self.emit(
            "aws.emr",
            "EMR Cluster State Change",
            {
                "severity": "INFO",
                "stateChangeReason": '{"code":""}',
                "name": name,
                "clusterId": cluster_id,
                "state": "RUNNING",
                "message": f"Amazon EMR cluster {cluster_id} ({name}) is ready for work.",
            },
        )

    def create_clusters(
        self,
        count: int,
        name_prefix: str = "fleet",
        core: int = 2,
        task: int = 0,
        instance_type: str = "m5.xlarge",
        tags: dict[str, str] | None = None,
        demand_mb: int = 0,
    ) -> list[str]:
        """Create_clusters starts `count` light opted-in clusters at once, announces each (RUNNING) and returns ids.

        Light: they share one ResourceManager (one loopback address) serving one steady load, `demand_mb` on the
        first cluster's nodes, instead of one server each; `set_yarn` refuses them. A thousand cost one server.
        """
        ids = [
            _run_job_flow(
                self.emr, name=f"{name_prefix}-{i}", core=core, task=task, instance_type=instance_type, tags=tags
            )
            for i in range(count)
        ]
        if not ids:
            return ids
        address = next(self._addresses)
        yarn = self._stack.enter_context(YarnResourceManagerEmulator(host=address, port=self.rm_port))
        for i, cluster_id in enumerate(ids):
            self._clusters[cluster_id] = _EmuCluster(
                cluster_id,
                f"{name_prefix}-{i}",
                address,
                yarn,
                demand_mb=demand_mb,
                apps=1 if demand_mb else 0,
                light=True,
            )
        self._refresh_yarn(ids[0])
        for i, cluster_id in enumerate(ids):
            self._announce(cluster_id, f"{name_prefix}-{i}")
        return ids

    def fail_api(self, cluster_id: str, code: str | None) -> None:
        """Fail_api makes EMR answer DescribeCluster for this cluster with error `code` (e.g. AccessDeniedException,
        ThrottlingException) until called again with None."""
        if code is None:
            self.api_errors.pop(cluster_id, None)
        else:
            self.api_errors[cluster_id] = code

    def master_address(self, cluster_id: str) -> str | None:
        """Master_address is the loopback address the cluster's ResourceManager emulator listens on."""
        cluster = self._clusters.get(cluster_id)
        return cluster.address if cluster else None

    def set_yarn(self, cluster_id: str, demand_mb: int, apps: int | None = None) -> None:
        """Set_yarn sets the YARN demand (memory asked for, allocated as capacity allows, the rest pending)."""
        cluster = self._clusters[cluster_id]
        if cluster.light:
            raise SandboxError(
                f"{cluster_id} is a light cluster (shared ResourceManager); use create_cluster to steer one"
            )
        cluster.demand_mb = demand_mb
        cluster.apps = apps if apps is not None else (1 if demand_mb else 0)
        self._refresh_yarn(cluster_id)

    def nodes(self, cluster_id: str) -> dict[str, tuple[int, int]]:
        """Nodes returns (running, requested) per group role, as EMR reports them."""
        groups = self.emr.list_instance_groups(ClusterId=cluster_id)["InstanceGroups"]
        return {g["InstanceGroupType"]: (g["RunningInstanceCount"], g["RequestedInstanceCount"]) for g in groups}

    def yarn_metrics(self, cluster_id: str) -> dict[str, Any]:
        """Yarn_metrics is the `clusterMetrics` the cluster's emulated ResourceManager serves now."""
        cluster = self._clusters[cluster_id]
        return dict(cluster.yarn._body["clusterMetrics"])

    def tick(self) -> None:
        """Tick brings the emulation to the clock's time: due resizes complete, every ResourceManager follows."""
        self._complete_resizes()
        refreshed: set[int] = set()
        for cluster_id, cluster in self._clusters.items():
            if id(cluster.yarn) not in refreshed:  # light clusters share one ResourceManager: refresh it once
                refreshed.add(id(cluster.yarn))
                self._refresh_yarn(cluster_id)

    def _refresh_yarn(self, cluster_id: str) -> None:
        # Read the emulation's own state (in process) rather than call EMR: this runs every simulated minute.
        cluster = self._clusters[cluster_id]
        workers = [
            g
            for backend in moto_backends("emr")
            for g in backend.instance_groups.values()
            if g.cluster_id == cluster_id and g.role in ("CORE", "TASK")
        ]
        nodes = sum(self.running_count(g) for g in workers)
        capacity = DEFAULT_NODE_CAPACITY.get(workers[0].instance_type) if workers else None
        cluster.yarn.set_body(
            cluster_metrics(
                nodes=nodes,
                node_memory_mb=capacity.memory_mb if capacity else 12288,
                node_vcores=capacity.vcores if capacity else 4,
                demand_memory_mb=cluster.demand_mb,
                apps_running=cluster.apps,
            )
        )

    # ------------------------------------------------------------------ resizes
    def resized(self, group: Any, old: int, new: int) -> None:
        """Resized starts the emulated resize of a moto group EMR was asked to take from `old` to `new` nodes."""
        now = self.clock.now
        delay = self.start_delay if new > old else self.decommission
        self._resizes[group.id] = _GroupResize(group=group, running=old, target=new, due=now + delay)
        group.state = "RESIZING"
        self.on_line(f"{now:%H:%M} EMR      {group.name} resizing {old} → {new} (done at {now + delay:%H:%M})")

    def _complete_resizes(self) -> None:
        for group_id, resize in list(self._resizes.items()):
            if resize.due > self.clock.now:
                continue
            del self._resizes[group_id]
            group = resize.group
            group.state = "RUNNING"
            self.on_line(f"{self.clock.now:%H:%M} EMR      {group.name} now runs {resize.target} node(s)")
            self._refresh_yarn(group.cluster_id)
            self.emit(
                "aws.emr",
                "EMR Instance Group State Change",
                {
                    "market": "ON_DEMAND",
                    "severity": "INFO",
                    "requestedInstanceCount": str(resize.target),
                    "instanceType": group.instance_type,
                    "instanceGroupType": group.role,
                    "instanceGroupId": group_id,
                    "clusterId": group.cluster_id,
                    "runningInstanceCount": str(resize.target),
                    "state": "RUNNING",
                    "message": f"Instance group {group_id} in Amazon EMR cluster {group.cluster_id} is complete.",
                },
            )

    def running_count(self, group: Any) -> int:
        """Running_count is what EMR reports as running for a moto group (lagging its request while resizing)."""
        resize = self._resizes.get(group.id)
        return resize.running if resize is not None else int(group.num_instances)

    # ------------------------------------------------------------------ steps
    def add_steps(self, cluster_id: str, *names: str, action_on_failure: str = "CANCEL_AND_WAIT") -> list[str]:
        """Add_steps submits Spark steps (PENDING, in order) and returns their ids."""
        ids: list[str] = []
        for name in names:
            response = self.emr.add_job_flow_steps(
                JobFlowId=cluster_id,
                Steps=[
                    {
                        "Name": name,
                        "ActionOnFailure": action_on_failure,
                        "HadoopJarStep": {
                            "Jar": "command-runner.jar",
                            "Args": ["spark-submit", "--deploy-mode", "cluster", f"s3://jobs/{name}.py"],
                        },
                    }
                ],
            )
            ids.extend(response["StepIds"])
        emr_steps.space_creation_times(cluster_id)
        return ids

    def steps(self, cluster_id: str) -> list[dict[str, Any]]:
        """Steps lists the cluster's steps as EMR's ListSteps returns them, oldest first."""
        listed: list[dict[str, Any]] = self.emr.list_steps(ClusterId=cluster_id)["Steps"]
        return list(reversed(listed))  # EMR lists the newest first

    def complete_step(self, cluster_id: str, step_id: str) -> None:
        """Complete_step marks a step COMPLETED and emits its state change."""
        emr_steps.step(cluster_id, step_id).state = "COMPLETED"
        self._step_event(cluster_id, step_id, "COMPLETED", "INFO")

    def fail_step(
        self, cluster_id: str, step_id: str, reason: str, message: str = "", log_file: str | None = None
    ) -> list[str]:
        """Fail_step makes a step FAILED with FailureDetails (and cancels its pending followers under
        CANCEL_AND_WAIT), then emits EMR's `EMR Step Status Change` event; returns the cancelled step ids."""
        log = log_file or f"s3://aws-logs-{ACCOUNT_ID}-{REGION}/elasticmapreduce/{cluster_id}/steps/{step_id}/"
        cancelled = emr_steps.fail(cluster_id, step_id, reason, message or reason, log)
        self.on_line(f"{self.clock.now:%H:%M} EMR      step {step_id} FAILED: {reason}")
        self._step_event(cluster_id, step_id, "FAILED", "ERROR")
        return cancelled

    def _step_event(self, cluster_id: str, step_id: str, state: str, severity: str) -> None:
        found = emr_steps.step(cluster_id, step_id)
        name = self._clusters[cluster_id].name if cluster_id in self._clusters else cluster_id
        self.emit(
            "aws.emr",
            "EMR Step Status Change",
            {
                "severity": severity,
                "actionOnFailure": found.action_on_failure,
                "stepId": step_id,
                "name": found.name,
                "clusterId": cluster_id,
                "state": state,
                "message": f"Step {step_id} ({found.name}) in Amazon EMR cluster {cluster_id} ({name}) "
                f"{state.lower()} at {self.clock.now:%Y-%m-%d %H:%M} UTC.",
            },
        )


def _patch_moto_emr(emulator: EmrEmulator) -> Callable[[], None]:
    """Make moto's EMR behave like EMR where the autoscaler can tell: resizes take time, masters have addresses.

    Returns the function that restores moto.
    """
    from moto.emr import models

    group_cls = models.InstanceGroup
    cluster_cls = models.Cluster
    backend_cls = models.ElasticMapReduceBackend
    saved = {
        "running": group_cls.__dict__["running_instance_count"],
        "instance_running": group_cls.__dict__["instance_running_count"],
        "dns": cluster_cls.__dict__["master_public_dns_name"],
        "modify": backend_cls.__dict__["modify_instance_groups"],
        "describe": backend_cls.__dict__["describe_cluster"],
    }

    def describe(self: Any, cluster_id: str) -> Any:
        code = emulator.api_errors.get(cluster_id)
        if code is not None:
            from moto.emr import exceptions

            # moto serializes an error by the service its class's module names: make it an EMR error.
            injected = type(code, (exceptions.ValidationException,), {"code": code, "__module__": exceptions.__name__})
            raise injected(f"injected by the sandbox for {cluster_id}")
        return saved["describe"](self, cluster_id)

    def running(self: Any) -> int:
        return emulator.running_count(self)

    def dns(self: Any) -> str:
        return emulator.master_address(self.id) or saved["dns"].fget(self)

    def modify(self: Any, instance_groups: list[dict[str, Any]]) -> None:
        before = {
            g["instance_group_id"]: self.instance_groups[g["instance_group_id"]].num_instances for g in instance_groups
        }
        saved["modify"](self, instance_groups)
        for item in instance_groups:
            group = self.instance_groups[item["instance_group_id"]]
            if group.num_instances != before[group.id]:
                emulator.resized(group, before[group.id], group.num_instances)

    group_cls.running_instance_count = property(running)  # type: ignore[assignment,method-assign]
    group_cls.instance_running_count = property(running)  # type: ignore[assignment,method-assign]
    cluster_cls.master_public_dns_name = property(dns)  # type: ignore[assignment,method-assign]
    backend_cls.modify_instance_groups = modify  # type: ignore[method-assign]
    backend_cls.describe_cluster = describe  # type: ignore[method-assign]

    def restore() -> None:
        group_cls.running_instance_count = saved["running"]  # type: ignore[method-assign]
        group_cls.instance_running_count = saved["instance_running"]  # type: ignore[method-assign]
        cluster_cls.master_public_dns_name = saved["dns"]  # type: ignore[method-assign]
        backend_cls.modify_instance_groups = saved["modify"]  # type: ignore[method-assign]
        backend_cls.describe_cluster = saved["describe"]  # type: ignore[method-assign]

    return restore

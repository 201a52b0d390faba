"""EmrEmulator: what moto's EMR lacks, emulated where the autoscaler can tell.

Resizes take time (requested != running meanwhile, the group RESIZING), steps fail and complete on command with
`FailureDetails`, EMR's state-change events follow with their real shapes, and each cluster has a YARN
ResourceManager on its own loopback address (so the scaler finds it through DescribeCluster, as in AWS), serving
metrics computed from the simulated demand and the nodes actually running, and the failed steps' applications with
their diagnostics. Steps keep the runtime role they were added with (ExecutionRoleArn). A failed step's logs
(`controller.gz`, `stderr.gz`) reach `<LogUri>/<cluster id>/steps/<step id>/` in S3 only after the archive delay,
as EMR pushes logs about every five minutes.
"""

from __future__ import annotations

import gzip
import itertools
import socket
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from emr_autoscaler.kernel.config.scaling import DEFAULT_NODE_CAPACITY
from emr_autoscaler_dev.sandbox import steps as emr_steps
from emr_autoscaler_dev.sandbox.clock import Clock
from emr_autoscaler_dev.sandbox.fleets import FleetEmulator
from emr_autoscaler_dev.sandbox.functions import SandboxError
from emr_autoscaler_dev.sandbox.local_aws import LocalAws, moto_backends
from emr_autoscaler_dev.sandbox.managed_scaling import ManagedScalingEmulator, patch_managed_scaling
from emr_autoscaler_dev.sandbox.provision import create_cluster as _run_job_flow
from emr_autoscaler_dev.sandbox.provision import create_fleet_cluster as _run_fleet_job_flow
from emr_autoscaler_dev.sandbox.template import ACCOUNT_ID, REGION
from emr_autoscaler_dev.sandbox.yarn import (
    CORE_NODE_LABELS,
    YarnResourceManagerEmulator,
    application,
    cluster_metrics,
    labelled_cluster_metrics,
    scheduler_partitions,
)

LOG_BUCKET = f"aws-logs-{ACCOUNT_ID}-{REGION}"
LOG_URI = f"s3n://{LOG_BUCKET}/elasticmapreduce/"
# How long a failed step's application ran before it failed (the step's StartDateTime, the app's startedTime).
_STEP_RUN = timedelta(minutes=10)

Emit = Callable[[str, str, dict[str, Any]], None]


@dataclass
class _GroupResize:
    group: Any
    running: int
    target: int
    due: datetime
    # Nodes that join (or leave) earlier than `due`: a request made before the current one, still under way.
    partial: list[tuple[datetime, int]] = field(default_factory=list)
    # A Spot group's growth EC2 cannot fill (Sandbox.starve_spot): EMR said so once.
    short_reported: bool = False


@dataclass
class _EmuCluster:
    cluster_id: str
    name: str
    address: str
    yarn: YarnResourceManagerEmulator
    started_ms: int
    demand_mb: int = 0
    apps: int = 0
    light: bool = False
    app_sequence: int = 0
    reserved_mb: int = 0
    pending_ams: int = 0
    am_label: str | None = None
    # Every primary node's ResourceManager (the first on the master DNS name); `yarn` is the active one.
    primaries: list[YarnResourceManagerEmulator] = field(default_factory=list)


@dataclass
class _PendingLogs:
    due: datetime
    cluster_id: str
    step_id: str
    files: dict[str, bytes]


def _controller_log(step_id: str, args: list[str], ended: datetime) -> str:
    """The shape of EMR's step controller log (what the step runner writes before and after the command)."""
    return (
        f"{ended - _STEP_RUN:%Y-%m-%dT%H:%M:%S.000Z} INFO Ensure step jar file command-runner.jar\n"
        f"INFO startExec 'hadoop jar /var/lib/aws/emr/step-runner/hadoop-jars/command-runner.jar {' '.join(args)}'\n"
        f"INFO redirectOutput to /mnt/var/log/hadoop/steps/{step_id}/stdout\n"
        f"INFO redirectError to /mnt/var/log/hadoop/steps/{step_id}/stderr\n"
        f"INFO ProcessRunner started child process\n"
        f"INFO waitProcessCompletion ended with exit code 1 : hadoop jar /var/lib/aws/emr/step-runner/hadoop-...\n"
        f"{ended:%Y-%m-%dT%H:%M:%S.000Z} WARN Step failed with exitCode 1 and took {int(_STEP_RUN.total_seconds())} "
        "seconds\n"
    )


def _stderr_log(app_id: str, started: datetime, text: str) -> str:
    """What spark-submit (cluster mode) prints to the step's stderr: the application it submitted, then `text`."""
    return (
        f"{started:%y/%m/%d %H:%M:%S} INFO Client: Requesting a new application from cluster\n"
        f"{started:%y/%m/%d %H:%M:%S} INFO YarnClientImpl: Submitted application {app_id}\n"
        f"{started:%y/%m/%d %H:%M:%S} INFO Client: Application report for {app_id} (state: RUNNING)\n"
        f"{text.rstrip()}\n"
    )


def _label_configurations(am_label: str | None) -> list[dict[str, Any]] | None:
    """EMR's yarn-site classification that pins ApplicationMasters to a node label (None: no labels)."""
    if am_label is None:
        return None
    return [
        {
            "Classification": "yarn-site",
            "Properties": {
                "yarn.node-labels.enabled": "true",
                "yarn.node-labels.am.default-node-label-expression": am_label,
            },
        }
    ]


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


# An AMI moto's EC2 knows in every region (its bundled Amazon Linux image): the instances EMR runs on.
SANDBOX_AMI = "ami-12c6146b"


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
        log_archive_delay: timedelta = timedelta(minutes=5),
    ) -> None:
        self.aws = aws
        self.log_archive_delay = log_archive_delay
        self._pending_logs: list[_PendingLogs] = []
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
        self.fleets = FleetEmulator(clock, emit, on_line, start_delay, decommission, launch=self.launch_instances)
        self.managed = ManagedScalingEmulator(self)

    def __enter__(self) -> EmrEmulator:
        self.rm_port = _free_port("127.0.0.1")
        self._stack.callback(_patch_moto_emr(self))
        self._stack.callback(patch_managed_scaling(self.managed))
        s3 = self.aws.client("s3")
        if LOG_BUCKET not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
            s3.create_bucket(Bucket=LOG_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
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
        collection: str = "group",
        primaries: int = 1,
        am_label: str | None = None,
        spot_task: int | None = None,
    ) -> str:
        """Create_cluster starts an opted-in cluster with a YARN ResourceManager and announces it (RUNNING).

        `primaries=3` gives it three primary nodes, each with a ResourceManager on its own loopback address: the
        first active, the others standby, redirecting to it (see `fail_over`). `am_label="CORE"` pins
        ApplicationMasters to CORE nodes, as EMR 5.x does by default (its yarn-site classification says so, and the
        RM serves the label; see `labelled_cluster_metrics`).

        `collection="fleet"` starts an instance-fleet cluster instead: CORE `core` On-Demand nodes, a TASK fleet of
        m5.xlarge (4 units) and m5.2xlarge (8 units) asking `task` nodes' worth of Spot units (see FleetEmulator).
        `spot_task` adds a Spot TASK group ("Spot task") beside the On-Demand one to an instance-group cluster.
        """
        if collection == "fleet":
            if primaries != 1 or am_label is not None:
                raise SandboxError("primaries and am_label are emulated on instance-group clusters only")
            cluster_id = _run_fleet_job_flow(self.emr, name=name, core=core, task=task, tags=tags, log_uri=LOG_URI)
        else:
            cluster_id = _run_job_flow(
                self.emr,
                name=name,
                core=core,
                task=task,
                instance_type=instance_type,
                tags=tags,
                log_uri=LOG_URI,
                primaries=primaries,
                configurations=_label_configurations(am_label),
                spot_task=spot_task,
            )
        rms = [
            self._stack.enter_context(YarnResourceManagerEmulator(host=next(self._addresses), port=self.rm_port))
            for _ in range(primaries)
        ]
        for standby in rms[1:]:
            standby.set_standby(rms[0].base)
        if am_label is not None:
            for rm in rms:
                rm.serve("/ws/v1/cluster/get-node-labels", CORE_NODE_LABELS)
        started_ms = int(self.clock.now.timestamp() * 1000)
        address = str(rms[0].base.split("//")[1].split(":")[0])
        self._clusters[cluster_id] = _EmuCluster(
            cluster_id, name, address, rms[0], started_ms, am_label=am_label, primaries=rms
        )
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
        names = [f"{name_prefix}-{i}" for i in range(count)]
        ids = [
            _run_job_flow(
                self.emr, name=name, core=core, task=task, instance_type=instance_type, tags=tags, log_uri=LOG_URI
            )
            for name in names
        ]
        if not ids:
            return ids
        address = next(self._addresses)
        yarn = self._stack.enter_context(YarnResourceManagerEmulator(host=address, port=self.rm_port))
        started_ms = int(self.clock.now.timestamp() * 1000)
        apps = 1 if demand_mb else 0
        for cluster_id, name in zip(ids, names, strict=True):
            self._clusters[cluster_id] = _EmuCluster(
                cluster_id, name, address, yarn, started_ms, demand_mb=demand_mb, apps=apps, light=True
            )
        self._refresh_yarn(ids[0])
        for cluster_id, name in zip(ids, names, strict=True):
            self._announce(cluster_id, name)
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

    def set_yarn(
        self,
        cluster_id: str,
        demand_mb: int,
        apps: int | None = None,
        *,
        reserved_mb: int = 0,
        pending_ams: int = 0,
    ) -> None:
        """Set_yarn sets the YARN demand (memory asked for, allocated as capacity allows, the rest pending).

        `reserved_mb`: memory the scheduler reserves on nodes for waiting containers that do not fit (see
        `cluster_metrics`); `pending_ams`: new applications whose ApplicationMaster waits for room (on CORE nodes
        only when the cluster pins AMs to CORE; see `labelled_cluster_metrics`).
        """
        cluster = self._clusters[cluster_id]
        if cluster.light:
            raise SandboxError(
                f"{cluster_id} is a light cluster (shared ResourceManager); use create_cluster to steer one"
            )
        cluster.demand_mb = demand_mb
        cluster.apps = apps if apps is not None else (1 if demand_mb else 0)
        cluster.reserved_mb = reserved_mb
        cluster.pending_ams = pending_ams
        self._refresh_yarn(cluster_id)

    # ------------------------------------------------------------------ primary nodes (high availability)
    def fail_over(self, cluster_id: str) -> str:
        """Fail_over makes the next primary node's ResourceManager active and the others standby (redirecting to
        it), as ZooKeeper's election does when the active RM goes; returns the new active RM's address."""
        cluster = self._clusters[cluster_id]
        if len(cluster.primaries) < 2:
            raise SandboxError(f"{cluster_id} has one primary node: create it with primaries=3")
        index = (cluster.primaries.index(cluster.yarn) + 1) % len(cluster.primaries)
        cluster.yarn = cluster.primaries[index]
        for rm in cluster.primaries:
            rm.set_standby(None if rm is cluster.yarn else cluster.yarn.base)
        self.on_line(
            f"{self.clock.now:%H:%M} EMR      {cluster.name}: the active ResourceManager is {cluster.yarn.base}"
        )
        return cluster.yarn.base

    def redirect_standbys(self, cluster_id: str, base: str) -> None:
        """Redirect_standbys makes the cluster's standby RMs send every call to `base` (`http://host:port`), e.g. an
        address that is not a primary node: the scaler must refuse to follow."""
        cluster = self._clusters[cluster_id]
        for rm in cluster.primaries:
            if rm is not cluster.yarn:
                rm.set_standby(base)

    def primary_instances(self, cluster_id: str) -> list[dict[str, Any]] | None:
        """Primary_instances is ListInstances' answer for the MASTER group of a cluster with several primaries."""
        cluster = self._clusters.get(cluster_id)
        if cluster is None or len(cluster.primaries) < 2:
            return None
        found = []
        for n, rm in enumerate(cluster.primaries):
            address = rm.base.split("//")[1].split(":")[0]
            found.append(
                {
                    "Id": f"ci-PRIMARY{n}{cluster_id[-6:]}",
                    "Ec2InstanceId": f"i-0primary{n}{cluster_id[-6:].lower()}",
                    "PrivateIpAddress": address,
                    "PrivateDnsName": f"ip-{address.replace('.', '-')}.eu-west-1.compute.internal",
                    "Status": {"State": "RUNNING"},
                    "Market": "ON_DEMAND",
                    "InstanceType": "m5.xlarge",
                }
            )
        return found

    def launch_instances(self, cluster_id: str, role: str, instance_type: str, count: int) -> list[str]:
        """Launch_instances starts `count` Spot EC2 instances of the cluster on the local EC2 (moto), tagged as EMR tags
        its instances (https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-plan-tags.html), so EC2's
        DescribeInstances names their cluster as it does on AWS; returns their instance ids."""
        if count <= 0:
            return []
        tags = [
            {"Key": "aws:elasticmapreduce:job-flow-id", "Value": cluster_id},
            {"Key": "aws:elasticmapreduce:instance-group-role", "Value": role},
        ]
        launched = self.aws.client("ec2").run_instances(
            ImageId=SANDBOX_AMI,
            MinCount=count,
            MaxCount=count,
            InstanceType=instance_type,
            InstanceMarketOptions={"MarketType": "spot"},
            TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
        )
        return [str(i["InstanceId"]) for i in launched["Instances"]]

    def nodes(self, cluster_id: str) -> dict[str, tuple[int, int]]:
        """Nodes returns (running, requested) per group role, as EMR reports them."""
        groups = self.emr.list_instance_groups(ClusterId=cluster_id)["InstanceGroups"]
        return {g["InstanceGroupType"]: (g["RunningInstanceCount"], g["RequestedInstanceCount"]) for g in groups}

    def yarn_metrics(self, cluster_id: str) -> dict[str, Any]:
        """Yarn_metrics is the `clusterMetrics` the cluster's emulated ResourceManager serves now."""
        cluster = self._clusters[cluster_id]
        return dict(cluster.yarn._body["clusterMetrics"])

    def tick(self) -> None:
        """Tick brings the emulation to the clock's time: due resizes complete, due step logs reach S3, every
        ResourceManager follows."""
        self.fleets.tick()
        self.managed.tick()
        self._complete_resizes()
        self._archive_logs()
        refreshed: set[int] = set()
        for cluster_id, cluster in self._clusters.items():
            if id(cluster.yarn) not in refreshed:  # light clusters share one ResourceManager: refresh it once
                refreshed.add(id(cluster.yarn))
                self._refresh_yarn(cluster_id)

    def _refresh_yarn(self, cluster_id: str) -> None:
        # Read the emulation's own state (in process) rather than call EMR: this runs every simulated minute.
        cluster = self._clusters[cluster_id]
        if self.fleets.knows(cluster_id):
            # YARN sees a fleet's capacity; one unit stands for a node of a unit's size (see yarn_capacity).
            units, unit_mb, unit_vcores = self.fleets.yarn_capacity(cluster_id)
            cluster.yarn.set_body(
                cluster_metrics(
                    nodes=units,
                    node_memory_mb=unit_mb,
                    node_vcores=unit_vcores,
                    demand_memory_mb=cluster.demand_mb,
                    apps_running=cluster.apps,
                )
            )
            return
        workers = [
            g
            for backend in moto_backends("emr")
            for g in backend.instance_groups.values()
            if g.cluster_id == cluster_id and g.role in ("CORE", "TASK")
        ]
        nodes = sum(self.running_count(g) for g in workers)
        capacity = DEFAULT_NODE_CAPACITY.get(workers[0].instance_type) if workers else None
        node_mb, node_vcores = (capacity.memory_mb, capacity.vcores) if capacity else (12288, 4)
        if cluster.am_label is not None:
            core_nodes = sum(self.running_count(g) for g in workers if g.role == "CORE")
            body = labelled_cluster_metrics(
                core_nodes=core_nodes,
                task_nodes=nodes - core_nodes,
                node_memory_mb=node_mb,
                node_vcores=node_vcores,
                demand_memory_mb=cluster.demand_mb,
                apps_running=cluster.apps,
                pending_ams=cluster.pending_ams,
                reserved_mb=cluster.reserved_mb,
            )
        else:
            body = cluster_metrics(
                nodes=nodes,
                node_memory_mb=node_mb,
                node_vcores=node_vcores,
                demand_memory_mb=cluster.demand_mb,
                apps_running=cluster.apps,
                apps_pending=cluster.pending_ams,
                reserved_mb=cluster.reserved_mb,
            )
        for rm in cluster.primaries or [cluster.yarn]:
            rm.set_body(body)
            if cluster.am_label is not None:
                metrics = body["clusterMetrics"]
                rm.serve(
                    "/ws/v1/cluster/scheduler",
                    scheduler_partitions(
                        label=cluster.am_label,
                        waiting_ams=metrics["appsPending"],
                        running_ams=metrics["appsRunning"],
                        default_pending_mb=metrics["pendingMB"],
                    ),
                )

    # ------------------------------------------------------------------ resizes
    def resized(self, group: Any, old: int, new: int) -> None:
        """Resized starts the emulated resize of a moto group EMR was asked to take from `old` to `new` nodes.

        A new count during a resize overrides it, as EMR allows ("Interrupting a resize", emr-manage-resize.html):
        the nodes already on their way keep their own time, the change on top of them takes a full delay.
        """
        now = self.clock.now
        delay = self.start_delay if new > old else self.decommission
        current = self._resizes.get(group.id)
        if current is not None:
            coming = current.target - current.running - sum(count for _, count in current.partial)
            partial = [*current.partial, (current.due, coming)] if new > old and coming > 0 else []
            self._resizes[group.id] = _GroupResize(
                group=group, running=current.running, target=new, due=now + delay, partial=partial
            )
            self.on_line(f"{now:%H:%M} EMR      {group.name} resize changed {old} → {new} mid-way")
            return
        self._resizes[group.id] = _GroupResize(group=group, running=old, target=new, due=now + delay)
        group.state = "RESIZING"
        self.on_line(f"{now:%H:%M} EMR      {group.name} resizing {old} → {new} (done at {now + delay:%H:%M})")

    def _starved(self, resize: _GroupResize) -> bool:
        """A Spot group's growth while EC2 has no Spot capacity stays unfilled (the group stays RESIZING); EMR says so
        once with its insufficient-capacity event, and keeps asking until the count changes
        (https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-events-response-insuff-capacity.html)."""
        group = resize.group
        growing = resize.target > resize.running
        if getattr(group, "market", "ON_DEMAND") != "SPOT" or not growing:
            return False
        if not self.fleets.starved(group.cluster_id):
            return False
        # The nodes come a start delay after capacity returns, not before.
        resize.due = max(resize.due, self.clock.now + self.start_delay)
        resize.partial = [(max(due, self.clock.now + self.start_delay), n) for due, n in resize.partial]
        if not resize.short_reported:
            resize.short_reported = True
            self.on_line(f"{self.clock.now:%H:%M} EMR      {group.name}: insufficient Spot capacity")
            self.emit(
                "aws.emr",
                "EMR Instance Group Provisioning",
                {
                    "severity": "WARNING",
                    "eventCode": "EC2 provisioning - Insufficient Instance Capacity",
                    "instanceGroupId": group.id,
                    "instanceGroupType": group.role,
                    "clusterId": group.cluster_id,
                    "message": f"We are not able to resize your Amazon EMR cluster {group.cluster_id} for instance "
                    f"group {group.id} because Amazon EC2 has insufficient Spot capacity for instance type "
                    f"[{group.instance_type}].",
                },
            )
        return True

    def _complete_resizes(self) -> None:
        for group_id, resize in list(self._resizes.items()):
            if self._starved(resize):
                continue
            arrived = [(due, count) for due, count in resize.partial if due <= self.clock.now]
            if arrived and resize.due > self.clock.now:
                resize.running += sum(count for _, count in arrived)
                resize.partial = [item for item in resize.partial if item[0] > self.clock.now]
                self._refresh_yarn(resize.group.cluster_id)
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
                    "market": getattr(group, "market", "ON_DEMAND"),
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

    def resizing(self, group: Any) -> bool:
        """Resizing is true while a moto group's emulated resize is under way."""
        return group.id in self._resizes

    def demand_mb(self, cluster_id: str) -> int:
        """Demand_mb is the YARN memory the cluster's applications ask for now (set_yarn)."""
        return self._clusters[cluster_id].demand_mb

    def running_count(self, group: Any) -> int:
        """Running_count is what EMR reports as running for a moto group (lagging its request while resizing)."""
        resize = self._resizes.get(group.id)
        return resize.running if resize is not None else int(group.num_instances)

    # ------------------------------------------------------------------ steps
    def add_steps(
        self,
        cluster_id: str,
        *names: str,
        action_on_failure: str = "CANCEL_AND_WAIT",
        execution_role_arn: str | None = None,
    ) -> list[str]:
        """Add_steps submits Spark steps (PENDING, in order), with a runtime role if given, and returns their ids."""
        ids: list[str] = []
        role = {"ExecutionRoleArn": execution_role_arn} if execution_role_arn else {}
        for name in names:
            response = self.emr.add_job_flow_steps(
                JobFlowId=cluster_id,
                **role,
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
        self,
        cluster_id: str,
        step_id: str,
        reason: str = "Unknown Error.",
        message: str = "",
        log_file: str | None = None,
        *,
        stderr: str | None = None,
        diagnostics: str | None = None,
        archive_delay: timedelta | None = None,
        gzip_logs: bool = True,
    ) -> list[str]:
        """Fail_step makes a step FAILED with FailureDetails (and cancels its pending followers under
        CANCEL_AND_WAIT), then emits EMR's `EMR Step Status Change` event; returns the cancelled step ids.

        The step's YARN application (FAILED, with `diagnostics`) is known to the cluster's ResourceManager at once;
        its logs (`stderr.gz`: spark-submit's lines naming the application, then `stderr`; `controller.gz`) reach S3
        only after `archive_delay` (the emulator's default: EMR pushes logs about every five minutes), gzipped
        unless `gzip_logs` is false.
        """
        cluster = self._clusters[cluster_id]
        now = self.clock.now
        started = now - _STEP_RUN
        cluster.app_sequence += 1
        app_id = f"application_{cluster.started_ms}_{cluster.app_sequence:04d}"
        failed = emr_steps.step(cluster_id, step_id)
        cluster.yarn.add_application(
            application(
                app_id,
                name=failed.name,
                final_status="FAILED",
                diagnostics=diagnostics or "",
                started=started,
                finished=now,
                cluster_timestamp_ms=cluster.started_ms,
            )
        )
        prefix = f"{LOG_URI.replace('s3n://', 's3://')}{cluster_id}/steps/{step_id}/"
        log = log_file or prefix
        cancelled = emr_steps.fail(cluster_id, step_id, reason, message or reason, log, started=started, ended=now)
        files = {
            "controller.gz": _controller_log(step_id, list(failed.args), now),
            "stderr.gz": _stderr_log(app_id, started, stderr or ""),
        }
        encode = gzip.compress if gzip_logs else (lambda data: data)
        due = now + (self.log_archive_delay if archive_delay is None else archive_delay)
        self._pending_logs.append(
            _PendingLogs(due, cluster_id, step_id, {k: encode(v.encode()) for k, v in files.items()})
        )
        self.on_line(f"{now:%H:%M} EMR      step {step_id} FAILED: {reason} (logs in S3 at {due:%H:%M})")
        self._step_event(cluster_id, step_id, "FAILED", "ERROR")
        if due <= now:
            self._archive_logs()
        return cancelled

    def _archive_logs(self) -> None:
        s3 = self.aws.client("s3")
        for pending in [p for p in self._pending_logs if p.due <= self.clock.now]:
            self._pending_logs.remove(pending)
            for name, body in pending.files.items():
                key = f"elasticmapreduce/{pending.cluster_id}/steps/{pending.step_id}/{name}"
                s3.put_object(Bucket=LOG_BUCKET, Key=key, Body=body)

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
    from moto.core.responses import EmptyResult, PaginatedResult
    from moto.emr import models, responses
    from moto.emr.exceptions import InvalidRequestException

    responses_cls = responses.ElasticMapReduceResponse
    group_cls = models.InstanceGroup
    cluster_cls = models.Cluster
    backend_cls = models.ElasticMapReduceBackend
    saved = {
        "running": group_cls.__dict__["running_instance_count"],
        "instance_running": group_cls.__dict__["instance_running_count"],
        "dns": cluster_cls.__dict__["master_public_dns_name"],
        "modify": backend_cls.__dict__["modify_instance_groups"],
        "describe": backend_cls.__dict__["describe_cluster"],
        "add_steps": responses_cls.__dict__["add_job_flow_steps"],
        "run_job_flow": responses_cls.__dict__["run_job_flow"],
        "describe_cluster": responses_cls.__dict__["describe_cluster"],
        "list_instance_groups": responses_cls.__dict__["list_instance_groups"],
        "list_instances": responses_cls.__dict__["list_instances"],
    }
    fleets = emulator.fleets

    def run_job_flow(self: Any) -> Any:
        # moto ignores Instances.InstanceFleets: the emulator keeps them, and marks the cluster a fleet cluster.
        result = saved["run_job_flow"](self)
        configs = self._get_param("Instances.InstanceFleets", [])
        if configs:
            cluster_id = str(result.result["JobFlowId"])
            fleets.launched(cluster_id, list(configs))
            self.backend.clusters[cluster_id].instance_collection_type = "INSTANCE_FLEET"
        return result

    def describe_cluster(self: Any) -> Any:
        cluster = self.backend.clusters.get(self._get_param("ClusterId"))
        if cluster is not None and not hasattr(cluster, "instance_collection_type"):
            cluster.instance_collection_type = "INSTANCE_GROUP"
        return saved["describe_cluster"](self)

    def list_instance_groups(self: Any) -> Any:
        if fleets.knows(self._get_param("ClusterId")):
            raise InvalidRequestException("Instance fleet clusters are not supported by this API.")
        return saved["list_instance_groups"](self)

    def list_instances(self: Any) -> Any:
        cluster_id = self._get_param("ClusterId")
        primaries = emulator.primary_instances(cluster_id)
        if primaries is not None and "MASTER" in (self._get_param("InstanceGroupTypes") or []):
            return PaginatedResult({"Instances": primaries})
        if fleets.knows(cluster_id):
            return PaginatedResult({"Instances": fleets.instances(cluster_id)})
        return saved["list_instances"](self)

    def list_instance_fleets(self: Any) -> Any:
        return PaginatedResult({"InstanceFleets": fleets.listed(self._get_param("ClusterId"))})

    def modify_instance_fleet(self: Any) -> Any:
        cluster_id = self._get_param("ClusterId")
        if not fleets.knows(cluster_id):
            raise InvalidRequestException("Instance group clusters are not supported by this API.")
        fleets.modify(cluster_id, self._get_param("InstanceFleet"))
        return EmptyResult()

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

    def add_steps(self: Any) -> Any:
        # moto ignores AddJobFlowSteps' ExecutionRoleArn: keep it on the steps, as DescribeStep returns it.
        result = saved["add_steps"](self)
        role = self._get_param("ExecutionRoleArn")
        if role:
            emr_steps.set_role(self._get_param("JobFlowId"), list(result.result["StepIds"]), role)
        return result

    responses_cls.add_job_flow_steps = add_steps  # type: ignore[method-assign]
    responses_cls.run_job_flow = run_job_flow  # type: ignore[method-assign]
    responses_cls.describe_cluster = describe_cluster  # type: ignore[method-assign]
    responses_cls.list_instance_groups = list_instance_groups  # type: ignore[method-assign]
    responses_cls.list_instances = list_instances  # type: ignore[method-assign]
    responses_cls.list_instance_fleets = list_instance_fleets  # type: ignore[attr-defined]
    responses_cls.modify_instance_fleet = modify_instance_fleet  # type: ignore[attr-defined]
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
        responses_cls.add_job_flow_steps = saved["add_steps"]  # type: ignore[method-assign]
        responses_cls.run_job_flow = saved["run_job_flow"]  # type: ignore[method-assign]
        responses_cls.describe_cluster = saved["describe_cluster"]  # type: ignore[method-assign]
        responses_cls.list_instance_groups = saved["list_instance_groups"]  # type: ignore[method-assign]
        responses_cls.list_instances = saved["list_instances"]  # type: ignore[method-assign]
        del responses_cls.list_instance_fleets  # type: ignore[attr-defined]
        del responses_cls.modify_instance_fleet  # type: ignore[attr-defined]

    return restore

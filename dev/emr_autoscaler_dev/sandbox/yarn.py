"""YarnResourceManagerEmulator: serves `/ws/v1/cluster/metrics` and `/ws/v1/cluster/apps[/{appid}]` as a Hadoop 3
ResourceManager does.

The JSON uses the field names of the ResourceManager REST API documentation
(https://hadoop.apache.org/docs/current/hadoop-yarn/hadoop-yarn-site/ResourceManagerRest.html); values are set by
the caller from a simulated load and from failed steps' applications, so the real adapters are exercised over real
HTTP. As on a real RM, an unknown application id answers 404 with a `RemoteException` body, and an empty list of
applications is `{"apps": null}`.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


def cluster_metrics(
    *,
    nodes: int,
    node_memory_mb: int,
    node_vcores: int,
    demand_memory_mb: int,
    container_memory_mb: int = 2048,
    apps_running: int = 0,
    apps_pending: int = 0,
    reserved_mb: int = 0,
) -> dict[str, Any]:
    """Cluster_metrics renders a `clusterMetrics` body for `nodes` nodes under `demand_memory_mb` of YARN demand.

    Demand up to the capacity is allocated; the rest is pending, in containers of `container_memory_mb` with one
    vcore each. `reserved_mb`: while containers wait, the CapacityScheduler reserves up to this much memory on nodes
    for the ones that do not fit (a container larger than a node's free memory): that memory is neither allocated
    nor available, and `totalMB = availableMB + allocatedMB + reservedMB` (Hadoop's "Cluster Metrics API",
    https://hadoop.apache.org/docs/current/hadoop-yarn/hadoop-yarn-site/ResourceManagerRest.html). A reserved
    container's request stays pending.
    """
    total_mb = nodes * node_memory_mb
    total_vcores = nodes * node_vcores
    wanted_containers = -(-demand_memory_mb // container_memory_mb)
    allocatable_mb = max(0, total_mb - reserved_mb) if wanted_containers * container_memory_mb > total_mb else total_mb
    allocated_containers = min(wanted_containers, allocatable_mb // container_memory_mb, total_vcores)
    pending_containers = wanted_containers - allocated_containers
    allocated_mb = allocated_containers * container_memory_mb
    pending_mb = pending_containers * container_memory_mb
    allocated_vcores = allocated_containers
    reserved = min(reserved_mb, total_mb - allocated_mb) if pending_containers else 0
    reserved_containers = -(-reserved // container_memory_mb)
    reserved_vcores = min(reserved_containers, total_vcores - allocated_vcores)
    return {
        "clusterMetrics": {
            "appsSubmitted": apps_running + apps_pending,
            "appsCompleted": 0,
            "appsPending": apps_pending,
            "appsRunning": apps_running,
            "appsFailed": 0,
            "appsKilled": 0,
            "reservedMB": reserved,
            "availableMB": total_mb - allocated_mb - reserved,
            "allocatedMB": allocated_mb,
            "pendingMB": pending_mb,
            "reservedVirtualCores": reserved_vcores,
            "availableVirtualCores": total_vcores - allocated_vcores - reserved_vcores,
            "allocatedVirtualCores": allocated_vcores,
            "pendingVirtualCores": pending_containers,
            "containersAllocated": allocated_containers,
            "containersReserved": reserved_containers,
            "containersPending": pending_containers,
            "totalMB": total_mb,
            "totalVirtualCores": total_vcores,
            "totalNodes": nodes,
            "lostNodes": 0,
            "unhealthyNodes": 0,
            "decommissioningNodes": 0,
            "decommissionedNodes": 0,
            "rebootedNodes": 0,
            "activeNodes": nodes,
            "shutdownNodes": 0,
        }
    }


def application(
    app_id: str,
    *,
    name: str,
    final_status: str,
    diagnostics: str,
    started: datetime,
    finished: datetime,
    cluster_timestamp_ms: int,
) -> dict[str, Any]:
    """Application renders one `app` object of the Cluster Application API (times in ms since the epoch)."""
    started_ms, finished_ms = int(started.timestamp() * 1000), int(finished.timestamp() * 1000)
    return {
        "id": app_id,
        "user": "hadoop",
        "name": name,
        "queue": "default",
        "state": "FINISHED" if final_status != "KILLED" else "KILLED",
        "finalStatus": final_status,
        "progress": 100.0,
        "trackingUI": "History",
        "diagnostics": diagnostics,
        "clusterId": cluster_timestamp_ms,
        "applicationType": "SPARK",
        "applicationTags": "",
        "priority": 0,
        "startedTime": started_ms,
        "launchTime": started_ms + 1000,
        "finishedTime": finished_ms,
        "elapsedTime": finished_ms - started_ms,
        "allocatedMB": -1,
        "allocatedVCores": -1,
        "runningContainers": -1,
        "logAggregationStatus": "SUCCEEDED",
        "unmanagedApplication": False,
    }


def _not_found(app_id: str) -> dict[str, Any]:
    return {
        "RemoteException": {
            "exception": "NotFoundException",
            "message": f"java.lang.Exception: app with id: {app_id} not found",
            "javaClassName": "org.apache.hadoop.yarn.webapp.NotFoundException",
        }
    }


def cluster_info(ha_state: str, started_ms: int) -> dict[str, Any]:
    """Cluster_info renders `/ws/v1/cluster/info` (Hadoop's Cluster Information API: `haState` is INITIALIZING,
    ACTIVE, STANDBY or STOPPED)."""
    return {
        "clusterInfo": {
            "id": started_ms,
            "startedOn": started_ms,
            "state": "STARTED",
            "haState": ha_state,
            "rmStateStoreName": "org.apache.hadoop.yarn.server.resourcemanager.recovery.ZKRMStateStore",
            "resourceManagerVersion": "3.3.6-amzn-5",
            "hadoopVersion": "3.3.6-amzn-5",
            "haZooKeeperConnectionState": "CONNECTED",
        }
    }


class YarnResourceManagerEmulator:
    """YarnResourceManagerEmulator is a ResourceManager REST endpoint on a free loopback port (context manager).

    High availability, as Hadoop's RMWebAppFilter serves it: a standby (`standby_for` set to the active RM's
    `http://host:port`) answers `/ws/v1/cluster/info` itself (haState STANDBY) and every other path with HTTP 307,
    a Location on the active RM and the body "This is standby RM. The redirect url is: …"; a standby that knows no
    active RM (`standby_for` "") answers 307 without a Location.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._body: dict[str, Any] = cluster_metrics(nodes=0, node_memory_mb=1, node_vcores=1, demand_memory_mb=0)
        self._apps: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.standby_for: str | None = None
        self.requests: list[str] = []
        self.extra: dict[str, dict[str, Any]] = {}
        emulator = self

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                path = url.path.rstrip("/")
                with emulator._lock:
                    emulator.requests.append(path)
                    standby_for = emulator.standby_for
                    if path == "/ws/v1/cluster/info":
                        status, body = 200, cluster_info("STANDBY" if standby_for is not None else "ACTIVE", 0)
                    elif standby_for is not None:
                        self._redirect(standby_for)
                        return
                    elif path in emulator.extra:
                        status, body = 200, emulator.extra[path]
                    elif path == "/ws/v1/cluster/metrics":
                        status, body = 200, emulator._body
                    elif path == "/ws/v1/cluster/apps":
                        status, body = 200, emulator._list(urllib.parse.parse_qs(url.query))
                    elif path.startswith("/ws/v1/cluster/apps/"):
                        app_id = path.rsplit("/", 1)[1]
                        app = emulator._apps.get(app_id)
                        status, body = (200, {"app": app}) if app else (404, _not_found(app_id))
                    else:
                        self.send_error(404, "only /ws/v1/cluster/metrics and /ws/v1/cluster/apps are emulated")
                        return
                    payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _redirect(self, active: str) -> None:
                payload = f"This is standby RM. The redirect url is: {self.path}\n".encode()
                self.send_response(307)
                if active:
                    self.send_header("Location", f"{active}{self.path}")
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="yarn-rm-emulator", daemon=True
        )

    @property
    def port(self) -> int:
        """Port is the port the emulator listens on."""
        return int(self._server.server_address[1])

    @property
    def base(self) -> str:
        """Base is the emulator's `http://host:port`."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        """Url is the emulated `/ws/v1/cluster/metrics` address."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/ws/v1/cluster/metrics"

    def add_application(self, app: dict[str, Any]) -> None:
        """Add_application makes the RM know an application (see `application`)."""
        with self._lock:
            self._apps[app["id"]] = app

    def _list(self, query: dict[str, list[str]]) -> dict[str, Any]:
        def bound(name: str, default: int) -> int:
            values = query.get(name) or []
            return int(values[0]) if values and values[0].isdigit() else default

        begin, end = bound("startedTimeBegin", 0), bound("startedTimeEnd", 1 << 62)
        apps = [a for a in self._apps.values() if begin <= a["startedTime"] <= end]
        return {"apps": {"app": apps} if apps else None}

    def set_body(self, body: dict[str, Any]) -> None:
        """Set_body replaces the JSON served from now on."""
        with self._lock:
            self._body = body

    def set_standby(self, active_base: str | None) -> None:
        """Set_standby makes this RM a standby redirecting to `active_base` ("" for none known), or active (None)."""
        with self._lock:
            self.standby_for = active_base

    def serve(self, path: str, body: dict[str, Any]) -> None:
        """Serve answers `path` with `body` from now on (node labels, the scheduler)."""
        with self._lock:
            self.extra[path] = body

    def __enter__(self) -> YarnResourceManagerEmulator:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


def labelled_cluster_metrics(
    *,
    core_nodes: int,
    task_nodes: int,
    node_memory_mb: int,
    node_vcores: int,
    demand_memory_mb: int,
    apps_running: int,
    pending_ams: int,
    am_memory_mb: int = 2048,
    reserved_mb: int = 0,
) -> dict[str, Any]:
    """Labelled_cluster_metrics renders `clusterMetrics` when ApplicationMasters are pinned to the CORE label.

    As EMR sets it up (`yarn.node-labels.am.default-node-label-expression: CORE`, the CORE partition non-exclusive:
    https://repost.aws/knowledge-center/emr-configure-node-labeling-yarn), an AM only runs on a CORE node, while
    executors take TASK nodes first and then the CORE partition's idle room. The running apps' AMs hold their CORE
    room; executors fill TASK, then CORE; the `pending_ams` new applications get what CORE has left, and the others
    wait (appsPending, their AM containers pending) however much room TASK has.
    """
    core_mb, task_mb = core_nodes * node_memory_mb, task_nodes * node_memory_mb
    running_ams = min(apps_running, core_mb // am_memory_mb)
    executors_mb = max(0, min(demand_memory_mb, task_mb + core_mb - running_ams * am_memory_mb))
    core_left_mb = core_mb - running_ams * am_memory_mb - max(0, executors_mb - task_mb)
    started = min(pending_ams, max(0, core_left_mb) // am_memory_mb)
    waiting_ams = pending_ams - started
    body = cluster_metrics(
        nodes=core_nodes + task_nodes,
        node_memory_mb=node_memory_mb,
        node_vcores=node_vcores,
        demand_memory_mb=demand_memory_mb + (running_ams + started) * am_memory_mb,
        container_memory_mb=am_memory_mb,
        apps_running=running_ams + started,
        apps_pending=waiting_ams,
        reserved_mb=reserved_mb,
    )
    # The waiting AMs ask the CORE partition: `/ws/v1/cluster/metrics` reports the default partition only (YARN-11965),
    # so they show in appsPending and in the scheduler's per-partition usage (see `scheduler_partitions`), not here.
    body["clusterMetrics"]["appsSubmitted"] = running_ams + pending_ams
    return body


def scheduler_partitions(
    *, label: str, waiting_ams: int, running_ams: int, default_pending_mb: int, am_memory_mb: int = 2048
) -> dict[str, Any]:
    """Scheduler_partitions renders `/ws/v1/cluster/scheduler` for a CapacityScheduler with one leaf queue whose
    resource usage is reported per partition (`resources.resourceUsagesByPartition`, YARN-4162): the default
    partition's pending executors, and the label's pending and running AMs."""

    def resource(memory_mb: int, vcores: int) -> dict[str, int]:
        return {"memory": memory_mb, "vCores": vcores}

    zero = resource(0, 0)
    return {
        "scheduler": {
            "schedulerInfo": {
                "type": "capacityScheduler",
                "capacity": 100.0,
                "usedCapacity": 0.0,
                "maxCapacity": 100.0,
                "queueName": "root",
                "queues": {
                    "queue": [
                        {
                            "type": "capacitySchedulerLeafQueueInfo",
                            "queueName": "default",
                            "capacity": 100.0,
                            "maxCapacity": 100.0,
                            "numPendingApplications": waiting_ams,
                            "numActiveApplications": running_ams,
                            "defaultNodeLabelExpression": "",
                            "nodeLabels": ["*"],
                            "resources": {
                                "resourceUsagesByPartition": [
                                    {
                                        "partitionName": "",
                                        "used": zero,
                                        "reserved": zero,
                                        "pending": resource(default_pending_mb, default_pending_mb // am_memory_mb),
                                        "amUsed": zero,
                                        "amLimit": zero,
                                    },
                                    {
                                        "partitionName": label,
                                        "used": resource(running_ams * am_memory_mb, running_ams),
                                        "reserved": zero,
                                        "pending": resource(waiting_ams * am_memory_mb, waiting_ams),
                                        "amUsed": resource(running_ams * am_memory_mb, running_ams),
                                        "amLimit": zero,
                                    },
                                ]
                            },
                        }
                    ]
                },
            }
        }
    }


# The ResourceManager's node labels as `/ws/v1/cluster/get-node-labels` lists them (RMWebServices' NodeLabelsInfo: a
# `nodeLabelInfo` list of {name, exclusivity}); EMR adds CORE as `CORE(exclusive=false)`.
CORE_NODE_LABELS: dict[str, Any] = {"nodeLabelInfo": [{"name": "CORE", "exclusivity": False}]}

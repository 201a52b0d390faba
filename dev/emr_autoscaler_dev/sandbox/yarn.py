"""YarnResourceManagerEmulator: serves `/ws/v1/cluster/metrics` as a Hadoop 3 ResourceManager does.

The JSON uses the field names of the ResourceManager REST API documentation; values are set by the caller
(`set_load`) from a simulated load, so the real ResourceManager adapter is exercised over real HTTP.
"""

from __future__ import annotations

import json
import threading
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
) -> dict[str, Any]:
    """Cluster_metrics renders a `clusterMetrics` body for `nodes` nodes under `demand_memory_mb` of YARN demand.

    Demand up to the capacity is allocated; the rest is pending, in containers of `container_memory_mb` with one
    vcore each.
    """
    total_mb = nodes * node_memory_mb
    total_vcores = nodes * node_vcores
    wanted_containers = -(-demand_memory_mb // container_memory_mb)
    allocated_containers = min(wanted_containers, total_mb // container_memory_mb, total_vcores)
    pending_containers = wanted_containers - allocated_containers
    allocated_mb = allocated_containers * container_memory_mb
    pending_mb = pending_containers * container_memory_mb
    allocated_vcores = allocated_containers
    return {
        "clusterMetrics": {
            "appsSubmitted": apps_running + apps_pending,
            "appsCompleted": 0,
            "appsPending": apps_pending,
            "appsRunning": apps_running,
            "appsFailed": 0,
            "appsKilled": 0,
            "reservedMB": 0,
            "availableMB": total_mb - allocated_mb,
            "allocatedMB": allocated_mb,
            "pendingMB": pending_mb,
            "reservedVirtualCores": 0,
            "availableVirtualCores": total_vcores - allocated_vcores,
            "allocatedVirtualCores": allocated_vcores,
            "pendingVirtualCores": pending_containers,
            "containersAllocated": allocated_containers,
            "containersReserved": 0,
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


class YarnResourceManagerEmulator:
    """YarnResourceManagerEmulator is a ResourceManager REST endpoint on a free loopback port (context manager)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._body: dict[str, Any] = cluster_metrics(nodes=0, node_memory_mb=1, node_vcores=1, demand_memory_mb=0)
        self._lock = threading.Lock()
        emulator = self

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.rstrip("/") != "/ws/v1/cluster/metrics":
                    self.send_error(404, "only /ws/v1/cluster/metrics is emulated")
                    return
                with emulator._lock:
                    payload = json.dumps(emulator._body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="yarn-rm-emulator", daemon=True)

    @property
    def port(self) -> int:
        """Port is the port the emulator listens on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Url is the emulated `/ws/v1/cluster/metrics` address."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/ws/v1/cluster/metrics"

    def set_body(self, body: dict[str, Any]) -> None:
        """Set_body replaces the JSON served from now on."""
        with self._lock:
            self._body = body

    def __enter__(self) -> YarnResourceManagerEmulator:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

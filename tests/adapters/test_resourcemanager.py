"""ResourceManagerMetrics against a real HTTP server on 127.0.0.1 serving the documented RM REST JSON."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from emr_autoscaler.adapters.yarn.resourcemanager import ResourceManagerMetrics
from emr_autoscaler.kernel.config.scaling import MetricsConfig
from emr_autoscaler.kernel.models import ClusterSnapshot, ClusterState, MetricsSource

FIXTURES = Path(__file__).parent.parent / "fixtures"
NOW = datetime(2025, 3, 14, 12, 0, 0, tzinfo=UTC)
CONFIG = MetricsConfig(resourcemanager_timeout_s=0.2, estimated_container_memory_mb=3072)
HADOOP3_BODY = (FIXTURES / "rm_cluster_metrics.json").read_bytes()
HADOOP2_BODY = (FIXTURES / "rm_cluster_metrics_hadoop2.json").read_bytes()
# A saturated CapacityScheduler cluster holding a reservation (Hadoop's "Cluster Metrics API": reservedMB,
# reservedVirtualCores, containersReserved; totalMB = availableMB + allocatedMB + reservedMB).
RESERVED_BODY = (FIXTURES / "rm_cluster_metrics_reserved.json").read_bytes()

pytestmark = pytest.mark.network


@dataclass
class FakeResourceManager:
    """FakeResourceManager is what the local server answers, and what it was asked."""

    port: int = 0
    status: int = 200
    body: bytes = HADOOP3_BODY
    delay_s: float = 0.0
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)


def _handler_for(rm: FakeResourceManager) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            rm.requests.append((self.path, self.headers.get("Accept")))
            if rm.delay_s:
                # Waits on an event, not a sleep, so the fixture can release it at teardown.
                rm.released.wait(rm.delay_s)
            self.send_response(rm.status)
            self.send_header("Content-Type", "application/json")
            if 300 <= rm.status < 400:
                self.send_header("Location", f"http://127.0.0.1:{rm.port}/moved{self.path}")
            self.send_header("Content-Length", str(len(rm.body)))
            self.end_headers()
            self.wfile.write(rm.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def resource_manager() -> Iterator[FakeResourceManager]:
    rm = FakeResourceManager()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(rm))
    server.daemon_threads = True
    server.block_on_close = False
    rm.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield rm
    rm.released.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _snapshot(master_private_dns: str | None = "127.0.0.1") -> ClusterSnapshot:
    return ClusterSnapshot(
        cluster_id="j-TESTCLUSTER01",
        name="nightly-etl",
        state=ClusterState.RUNNING,
        master_private_dns=master_private_dns,
        read_at=NOW,
    )


def _body_with(**overrides: object) -> bytes:
    document = json.loads(HADOOP3_BODY)
    document["clusterMetrics"].update(overrides)
    return json.dumps(document).encode()


def test_maps_every_documented_field_and_stamps_now(resource_manager: FakeResourceManager) -> None:
    # GIVEN a Hadoop 3 ResourceManager on the master's address
    reader = ResourceManagerMetrics(port=resource_manager.port)

    # WHEN the metrics are read
    metrics = reader.read(_snapshot(), CONFIG, NOW)

    # THEN every field comes from clusterMetrics, nothing is estimated, and the data is as fresh as the call
    assert metrics is not None
    assert metrics.source is MetricsSource.RESOURCE_MANAGER
    assert metrics.observed_at == NOW
    assert (metrics.apps_running, metrics.apps_pending) == (3, 2)
    assert (metrics.containers_allocated, metrics.containers_pending) == (13, 7)
    assert (metrics.allocated_memory_mb, metrics.available_memory_mb, metrics.total_memory_mb) == (40960, 8192, 49152)
    assert metrics.pending_memory_mb == 20480
    assert (metrics.allocated_vcores, metrics.available_vcores, metrics.total_vcores) == (14, 2, 16)
    assert metrics.pending_vcores == 6
    assert metrics.active_nodes == 4
    assert metrics.hdfs_utilization_pct is None
    assert metrics.pending_estimated is False


def test_reservations_are_read_and_add_up_with_the_totals(resource_manager: FakeResourceManager) -> None:
    # GIVEN a saturated ResourceManager holding 8 GiB and 2 vcores for containers that do not fit yet
    resource_manager.body = RESERVED_BODY

    # WHEN the metrics are read
    metrics = ResourceManagerMetrics(port=resource_manager.port).read(_snapshot(), CONFIG, NOW)

    # THEN the reservation is read, the CapacityScheduler's totals add up with it, and it counts as used
    assert metrics is not None
    assert (metrics.reserved_memory_mb, metrics.reserved_vcores) == (8192, 2)
    assert metrics.allocated_memory_mb + metrics.available_memory_mb + metrics.reserved_memory_mb == 49152
    assert metrics.memory_utilization_pct == pytest.approx(100.0)
    assert metrics.waiting_memory_mb == 24576


def test_asks_the_documented_path_for_json(resource_manager: FakeResourceManager) -> None:
    # GIVEN a reader for the master's ResourceManager
    reader = ResourceManagerMetrics(port=resource_manager.port)

    # WHEN the metrics are read
    reader.read(_snapshot(), CONFIG, NOW)

    # THEN one GET went to /ws/v1/cluster/metrics, asking for JSON
    assert resource_manager.requests == [("/ws/v1/cluster/metrics", "application/json")]


def test_hadoop2_without_pending_mb_estimates_pending_memory(resource_manager: FakeResourceManager) -> None:
    # GIVEN a Hadoop 2 ResourceManager, which reports no pendingMB nor pendingVirtualCores
    resource_manager.body = HADOOP2_BODY
    reader = ResourceManagerMetrics(port=resource_manager.port)

    # WHEN the metrics are read
    metrics = reader.read(_snapshot(), CONFIG, NOW)

    # THEN pending memory is containersPending x the configured container size, flagged as an estimate
    assert metrics is not None
    assert metrics.containers_pending == 3
    assert metrics.pending_memory_mb == 3 * 3072
    assert metrics.pending_estimated is True
    assert metrics.pending_vcores is None
    assert (metrics.allocated_memory_mb, metrics.total_memory_mb, metrics.active_nodes) == (20480, 24576, 2)


def test_url_override_reads_from_elsewhere(resource_manager: FakeResourceManager) -> None:
    # GIVEN a reader whose URL comes from an override (the sandbox's RM emulator), not the master's DNS
    url = f"http://127.0.0.1:{resource_manager.port}/ws/v1/cluster/metrics"
    reader = ResourceManagerMetrics(url_for=lambda snapshot: url)

    # WHEN the metrics are read for a cluster whose master DNS points nowhere reachable
    metrics = reader.read(_snapshot("ip-10-0-0-1.eu-west-1.compute.internal"), CONFIG, NOW)

    # THEN the override's server answered
    assert metrics is not None
    assert metrics.total_memory_mb == 49152


@pytest.mark.parametrize(
    ("case", "status", "body", "reason"),
    [
        ("server error", 500, b'{"RemoteException": {"message": "boom"}}', "HTTP 500"),
        ("no content", 204, b"", "HTTP 204"),
        ("invalid JSON", 200, b"<html>Standby RM</html>", "not JSON"),
        ("JSON but not an object", 200, b"[1, 2, 3]", "without a clusterMetrics"),
        ("missing clusterMetrics", 200, b'{"clusterInfo": {"id": 1}}', "without a clusterMetrics"),
        ("missing field", 200, b'{"clusterMetrics": {"appsRunning": 1}}', "allocatedMB"),
        ("string where an int is documented", 200, _body_with(totalMB="49152"), "totalMB"),
        ("float where an int is documented", 200, _body_with(allocatedMB=1.5), "allocatedMB"),
        ("negative value", 200, _body_with(availableMB=-1024), "availableMB"),
        ("negative pending memory", 200, _body_with(pendingMB=-1), "pendingMB"),
    ],
)
def test_unusable_answer_is_none_with_a_logged_reason(
    resource_manager: FakeResourceManager,
    caplog: pytest.LogCaptureFixture,
    case: str,
    status: int,
    body: bytes,
    reason: str,
) -> None:
    # GIVEN a ResourceManager that answers with something the scaler cannot use
    resource_manager.status = status
    resource_manager.body = body
    reader = ResourceManagerMetrics(port=resource_manager.port)

    # WHEN the metrics are read
    with caplog.at_level(logging.WARNING, logger="emr_autoscaler.adapters.yarn.resourcemanager"):
        metrics = reader.read(_snapshot(), CONFIG, NOW)

    # THEN there are no metrics, and the warning says why
    assert metrics is None, case
    assert reason in caplog.text, case
    assert "j-TESTCLUSTER01" in caplog.text


def test_slow_server_beyond_the_timeout_is_none(
    resource_manager: FakeResourceManager, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a ResourceManager that takes far longer than the 0.2 s timeout to answer
    resource_manager.delay_s = 5.0
    reader = ResourceManagerMetrics(port=resource_manager.port)

    # WHEN the metrics are read
    with caplog.at_level(logging.WARNING, logger="emr_autoscaler.adapters.yarn.resourcemanager"):
        metrics = reader.read(_snapshot(), CONFIG, NOW)

    # THEN the reader gave up on its timeout rather than wait for the answer (which would have had metrics), and
    # logged why; how long giving up takes is printed by bench/timings.py, not asserted
    assert metrics is None
    assert len(resource_manager.requests) == 1
    assert "could not be read (TimeoutError: timed out)" in caplog.text


def test_refused_connection_is_none(caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN a port nobody listens on (bound, then released)
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    reader = ResourceManagerMetrics(port=port)

    # WHEN the metrics are read
    with caplog.at_level(logging.WARNING, logger="emr_autoscaler.adapters.yarn.resourcemanager"):
        metrics = reader.read(_snapshot(), CONFIG, NOW)

    # THEN there are no metrics, and the warning says the RM could not be read
    assert metrics is None
    assert "could not be read" in caplog.text


def test_no_master_dns_is_none_without_a_request(
    resource_manager: FakeResourceManager, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a cluster EMR described without a master private DNS name (still starting)
    reader = ResourceManagerMetrics(port=resource_manager.port)

    # WHEN the metrics are read
    with caplog.at_level(logging.WARNING, logger="emr_autoscaler.adapters.yarn.resourcemanager"):
        metrics = reader.read(_snapshot(master_private_dns=None), CONFIG, NOW)

    # THEN there are no metrics, nothing was requested, and the warning says why
    assert metrics is None
    assert resource_manager.requests == []
    assert "no master private DNS" in caplog.text


@pytest.mark.parametrize("url", ["file:///etc/passwd", "https://127.0.0.1:1/ws/v1/cluster/metrics", "ftp://x/y"])
def test_only_http_urls_are_followed(url: str, caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN an override that yields a URL with another scheme
    reader = ResourceManagerMetrics(url_for=lambda snapshot: url)

    # WHEN the metrics are read
    with caplog.at_level(logging.WARNING, logger="emr_autoscaler.adapters.yarn.resourcemanager"):
        metrics = reader.read(_snapshot(), CONFIG, NOW)

    # THEN nothing is opened
    assert metrics is None
    assert "non-http" in caplog.text


def test_redirect_is_not_followed(resource_manager: FakeResourceManager, caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN a ResourceManager that redirects elsewhere (as a standby RM does)
    resource_manager.status = 307
    reader = ResourceManagerMetrics(port=resource_manager.port)

    # WHEN the metrics are read
    with caplog.at_level(logging.WARNING, logger="emr_autoscaler.adapters.yarn.resourcemanager"):
        metrics = reader.read(_snapshot(), CONFIG, NOW)

    # THEN the reader stays on the master's address and answers None
    assert metrics is None
    assert len(resource_manager.requests) == 1
    assert "HTTP 307" in caplog.text

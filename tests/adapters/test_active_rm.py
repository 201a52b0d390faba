"""ResourceManagerMetrics on a cluster with three primary nodes: real HTTP servers on loopback addresses, one
active ResourceManager and standbys that redirect as Hadoop's RMWebAppFilter does (HTTP 307 with a Location)."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from emr_autoscaler.adapters.metrics_chain import MetricsChain
from emr_autoscaler.adapters.yarn.resourcemanager import ResourceManagerMetrics
from emr_autoscaler.adapters.yarn.rest import get_json
from emr_autoscaler.kernel.config.scaling import MetricsConfig
from emr_autoscaler.kernel.models import (
    ClusterSnapshot,
    ClusterState,
    GroupRole,
    GroupState,
    InstanceGroupCapacity,
    MetricsSource,
    NodeLabels,
)
from emr_autoscaler.scaling.ports import ClusterUnreadableError
from emr_autoscaler_dev.sandbox.yarn import YarnResourceManagerEmulator, cluster_metrics
from tests.adapters.test_metrics_chain import FakeReader, _metrics

pytestmark = pytest.mark.network

NOW = datetime(2025, 3, 14, 12, 0, 0, tzinfo=UTC)
CONFIG = MetricsConfig(resourcemanager_timeout_s=0.5)
LOGGER = "emr_autoscaler.adapters.yarn.active_rm"
HOSTS = ("127.0.5.1", "127.0.5.2", "127.0.5.3")
ELSEWHERE = "127.0.5.99"


class Primaries:
    """Primaries is what EMR's ListInstances says of the cluster's primary nodes, and how often it was asked."""

    def __init__(self, hosts: tuple[str, ...]) -> None:
        self.hosts = hosts
        self.calls = 0

    def __call__(self, snapshot: ClusterSnapshot) -> tuple[tuple[str, ...], ...]:
        self.calls += 1
        return tuple((h, f"ip-{h.replace('.', '-')}.ec2.internal") for h in self.hosts)


@pytest.fixture
def port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def rms(port: int) -> Iterator[dict[str, YarnResourceManagerEmulator]]:
    with ExitStack() as stack:
        servers = {h: stack.enter_context(YarnResourceManagerEmulator(host=h, port=port)) for h in (*HOSTS, ELSEWHERE)}
        body = cluster_metrics(nodes=4, node_memory_mb=12288, node_vcores=4, demand_memory_mb=8192, apps_running=1)
        for server in servers.values():
            server.set_body(body)
        yield servers


def _make_active(rms: dict[str, YarnResourceManagerEmulator], active: str) -> None:
    for host in HOSTS:
        rms[host].set_standby(None if host == active else rms[active].base)


def _snapshot(primaries: int = 3) -> ClusterSnapshot:
    master = InstanceGroupCapacity(
        group_id="ig-MASTER",
        name="master",
        role=GroupRole.MASTER,
        instance_type="m5.xlarge",
        state=GroupState.RUNNING,
        requested_count=primaries,
        running_count=primaries,
    )
    return ClusterSnapshot(
        cluster_id="j-HA0000000001",
        name="ha",
        state=ClusterState.RUNNING,
        master_private_dns=HOSTS[0],
        read_at=NOW,
        groups=(master,),
    )


def test_a_standby_redirect_to_another_primary_is_followed_once_and_remembered(
    port: int, rms: dict[str, YarnResourceManagerEmulator]
) -> None:
    # GIVEN the master DNS name's RM is standby, the second primary's active
    _make_active(rms, HOSTS[1])
    primaries = Primaries(HOSTS)
    reader = ResourceManagerMetrics(port=port, primaries=primaries)

    # WHEN the metrics are read twice
    first = reader.read(_snapshot(), CONFIG, NOW)
    second = reader.read(_snapshot(), CONFIG, NOW)

    # THEN the redirect was followed to the active RM, which the second read asks directly
    assert first is not None
    assert second is not None
    assert rms[HOSTS[0]].requests == ["/ws/v1/cluster/metrics"]
    assert rms[HOSTS[1]].requests == ["/ws/v1/cluster/metrics", "/ws/v1/cluster/metrics"]
    assert primaries.calls == 1


def test_when_the_remembered_active_rm_is_gone_the_primaries_say_which_is_active(
    port: int, rms: dict[str, YarnResourceManagerEmulator]
) -> None:
    # GIVEN the reader found the second primary active, then that node went away and the third took over
    _make_active(rms, HOSTS[1])
    reader = ResourceManagerMetrics(port=port, primaries=Primaries(HOSTS))
    assert reader.read(_snapshot(), CONFIG, NOW) is not None
    rms[HOSTS[1]].__exit__(None, None, None)
    rms[HOSTS[0]].set_standby(rms[HOSTS[2]].base)
    rms[HOSTS[2]].set_standby(None)

    # WHEN read again
    metrics = reader.read(_snapshot(), CONFIG, NOW)

    # THEN the others were asked /ws/v1/cluster/info (never redirected), and the ACTIVE one answered the metrics
    assert metrics is not None
    assert "/ws/v1/cluster/info" in rms[HOSTS[2]].requests
    assert rms[HOSTS[2]].requests[-1] == "/ws/v1/cluster/metrics"


def test_a_redirect_to_an_address_that_is_not_a_primary_is_refused_and_logged(
    port: int, rms: dict[str, YarnResourceManagerEmulator], caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a single-primary cluster whose RM redirects to an address EMR does not list as a primary
    rms[HOSTS[0]].set_standby(rms[ELSEWHERE].base)
    reader = ResourceManagerMetrics(port=port, primaries=Primaries(HOSTS[:1]))

    # WHEN the metrics are read
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        metrics = reader.read(_snapshot(primaries=1), CONFIG, NOW)

    # THEN nothing is asked of that address, and the refusal is logged (the chain may then try CloudWatch)
    assert metrics is None
    assert rms[ELSEWHERE].requests == []
    assert "Refused a ResourceManager redirect" in caplog.text
    assert "not a primary node of the cluster" in caplog.text


@pytest.mark.parametrize("elsewhere", ["path", "port"])
def test_a_redirect_elsewhere_on_a_primary_is_refused(
    port: int, rms: dict[str, YarnResourceManagerEmulator], caplog: pytest.LogCaptureFixture, elsewhere: str
) -> None:
    # GIVEN a standby whose Location names a primary, but another path or port than the metrics call's
    base = f"http://{HOSTS[1]}:{port}/proxy" if elsewhere == "path" else f"http://{HOSTS[1]}:1"
    rms[HOSTS[0]].set_standby(base)
    reader = ResourceManagerMetrics(port=port, primaries=Primaries(HOSTS))

    # WHEN read
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        metrics = reader.read(_snapshot(primaries=1), CONFIG, NOW)

    # THEN the redirect is refused, and nothing is asked there
    assert metrics is None
    assert rms[HOSTS[1]].requests == []
    assert "Refused a ResourceManager redirect" in caplog.text


def test_a_primary_replaced_by_emr_is_found_by_reading_the_primaries_again(
    port: int, rms: dict[str, YarnResourceManagerEmulator]
) -> None:
    # GIVEN the reader found the second primary active (EMR listing primaries 1 and 2); EMR then replaced the first
    # by a third node, whose RM is now active
    _make_active(rms, HOSTS[1])
    primaries = Primaries(HOSTS[:2])
    reader = ResourceManagerMetrics(port=port, primaries=primaries)
    assert reader.read(_snapshot(), CONFIG, NOW) is not None
    primaries.hosts = (HOSTS[1], HOSTS[2])
    _make_active(rms, HOSTS[2])

    # WHEN read again (the remembered second primary now redirects to the third)
    metrics = reader.read(_snapshot(), CONFIG, NOW)

    # THEN the primaries were read again from EMR, and the new node's RM answered
    assert metrics is not None
    assert primaries.calls == 2
    assert rms[HOSTS[2]].requests[-1] == "/ws/v1/cluster/metrics"


def test_standbys_that_know_no_active_rm_leave_no_metrics(
    port: int, rms: dict[str, YarnResourceManagerEmulator]
) -> None:
    # GIVEN three standbys and no active RM (an election in progress: 307 without a Location)
    for host in HOSTS:
        rms[host].set_standby("")
    reader = ResourceManagerMetrics(port=port, primaries=Primaries(HOSTS))

    # WHEN read, THEN there are no metrics (the chain falls back; the core holds on missing data)
    assert reader.read(_snapshot(), CONFIG, NOW) is None
    assert all("/ws/v1/cluster/info" in rms[h].requests for h in HOSTS[1:])


FIXTURES = Path(__file__).parent.parent / "fixtures"


def test_ams_pending_in_their_label_partition_are_read_from_the_scheduler(
    port: int, rms: dict[str, YarnResourceManagerEmulator]
) -> None:
    # GIVEN a cluster pinning AMs to CORE whose RM reports per-partition usage (two leaf queues, one nested):
    # 4096 MB pending in CORE under root.default, 2048 MB under root.analytics.adhoc
    _make_active(rms, HOSTS[0])
    rms[HOSTS[0]].serve("/ws/v1/cluster/scheduler", json.loads((FIXTURES / "rm_scheduler_partitions.json").read_text()))
    snapshot = _snapshot().model_copy(update={"node_labels": NodeLabels(am_label="CORE")})

    # WHEN the metrics are read
    metrics = ResourceManagerMetrics(port=port, primaries=Primaries(HOSTS)).read(snapshot, CONFIG, NOW)

    # THEN what waits in the CORE partition is summed over the leaf queues
    assert metrics is not None
    assert metrics.am_pending_memory_mb == 4096 + 2048


def test_without_per_partition_usage_the_ams_are_left_to_appspending(
    port: int, rms: dict[str, YarnResourceManagerEmulator]
) -> None:
    # GIVEN a cluster pinning AMs to CORE whose RM has no scheduler answer (404 here: another scheduler, older RM)
    _make_active(rms, HOSTS[0])
    snapshot = _snapshot().model_copy(update={"node_labels": NodeLabels(am_label="CORE")})

    # WHEN the metrics are read, THEN they are read, without a partition figure
    metrics = ResourceManagerMetrics(port=port, primaries=Primaries(HOSTS)).read(snapshot, CONFIG, NOW)
    assert metrics is not None
    assert metrics.am_pending_memory_mb is None


def test_a_standby_says_so_on_cluster_info_as_the_fixture_shows(
    port: int, rms: dict[str, YarnResourceManagerEmulator]
) -> None:
    # GIVEN Hadoop's documented clusterInfo of a standby RM, and the emulator's
    documented = json.loads((FIXTURES / "rm_cluster_info_standby.json").read_text())["clusterInfo"]
    _make_active(rms, HOSTS[0])
    served = get_json(f"{rms[HOSTS[1]].base}/ws/v1/cluster/info", 2.0)

    # THEN both say STANDBY in haState, the field the active RM is found by
    assert documented["haState"] == served["clusterInfo"]["haState"] == "STANDBY"


class UnlistablePrimaries:
    """UnlistablePrimaries is EMR's ListInstances failing: throttled past botocore's retries, or refused."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    def __call__(self, snapshot: ClusterSnapshot) -> tuple[tuple[str, ...], ...]:
        self.calls += 1
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "ListInstances"),
        ClusterUnreadableError("ListInstances refused: not supported"),
    ],
    ids=["throttled", "unreadable"],
)
@pytest.mark.parametrize("rm_state", ["redirects", "gone"])
def test_primaries_that_cannot_be_listed_leave_the_rm_unanswered_and_the_chain_falls_back(
    port: int,
    rms: dict[str, YarnResourceManagerEmulator],
    caplog: pytest.LogCaptureFixture,
    error: Exception,
    rm_state: str,
) -> None:
    # GIVEN a cluster with three primaries whose master DNS name's RM either redirects (a standby) or is gone, and
    # EMR's ListInstances failing (throttled, or refused), so the active RM cannot be found among the primaries
    if rm_state == "redirects":
        _make_active(rms, HOSTS[1])
    else:
        rms[HOSTS[0]].__exit__(None, None, None)
    primaries = UnlistablePrimaries(error)
    cloudwatch = _metrics(MetricsSource.CLOUDWATCH, age_s=0)
    chain = MetricsChain(
        {
            MetricsSource.RESOURCE_MANAGER: ResourceManagerMetrics(port=port, primaries=primaries),
            MetricsSource.CLOUDWATCH: FakeReader(cloudwatch),
        }
    )
    config = CONFIG.model_copy(update={"sources": (MetricsSource.RESOURCE_MANAGER, MetricsSource.CLOUDWATCH)})

    # WHEN the metrics are read through the chain
    with caplog.at_level(logging.WARNING):
        metrics = chain.read(_snapshot(), config, NOW)

    # THEN the evaluation does not fail: the RM counts as unanswered (logged with the cause), ListInstances was asked
    # once, and the chain answers with CloudWatch's figures
    assert metrics == cloudwatch
    assert primaries.calls == 1
    assert "ResourceManager metrics unavailable for j-HA0000000001" in caplog.text
    assert "ListInstances" in caplog.text
    assert ("ThrottlingException" if isinstance(error, ClientError) else "not supported") in caplog.text
    assert rms[HOSTS[1]].requests == []

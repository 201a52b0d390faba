"""ResourceManagerApplications against the sandbox's ResourceManager emulator over real HTTP on 127.0.0.1: the
documented Cluster Application(s) API, 404s for unknown ids, applications outside the step's run, a dead RM."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from emr_autoscaler.adapters.yarn.applications import ResourceManagerApplications
from emr_autoscaler.kernel.models import ClusterSnapshot, ClusterState
from emr_autoscaler.steps.domain.evidence import EvidenceState
from emr_autoscaler.steps.domain.models import FailedStep
from emr_autoscaler_dev.sandbox.yarn import YarnResourceManagerEmulator, application

pytestmark = pytest.mark.network

FIXTURES = Path(__file__).parent.parent / "fixtures" / "evidence"
START = datetime(2026, 3, 4, 3, 0, tzinfo=UTC)
CLUSTER_TS = 1772589600000


@pytest.fixture
def rm() -> Iterator[YarnResourceManagerEmulator]:
    with YarnResourceManagerEmulator() as emulator:
        yield emulator


def _cluster(port: int, concurrency: int = 1) -> ClusterSnapshot:
    return ClusterSnapshot(
        cluster_id="j-ABC",
        name="etl",
        state=ClusterState.WAITING,
        read_at=START,
        master_private_dns="127.0.0.1",
        step_concurrency_level=concurrency,
    )


def _step() -> FailedStep:
    return FailedStep(
        cluster_id="j-ABC",
        step_id="s-1",
        name="aggregate",
        action_on_failure="CONTINUE",
        started_at=START,
        ended_at=START + timedelta(minutes=15),
    )


def _app(app_id: str, started: datetime, final_status: str = "FAILED", diagnostics: str = "") -> dict[str, object]:
    return application(
        app_id,
        name="aggregate",
        final_status=final_status,
        diagnostics=diagnostics,
        started=started,
        finished=started + timedelta(minutes=10),
        cluster_timestamp_ms=CLUSTER_TS,
    )


def test_named_application_diagnostics_are_read(rm: YarnResourceManagerEmulator) -> None:
    # GIVEN the RM knows the step's application, failed on a lost node (the real answer's diagnostics)
    real = json.loads((FIXTURES / "rm_app_lost_node.json").read_text())["app"]
    rm.add_application(_app(real["id"], START + timedelta(seconds=5), diagnostics=real["diagnostics"]))
    # WHEN its diagnostics are read
    (found,) = ResourceManagerApplications(port=rm.port).diagnostics(_cluster(rm.port), _step(), [real["id"]])
    # THEN the evidence holds the final status and the diagnostics, located by the application id
    assert found.state is EvidenceState.FOUND
    assert found.location == real["id"]
    assert found.text.startswith("state FINISHED, finalStatus FAILED\n")
    assert "Container released on a *lost* node" in found.text


def test_unknown_foreign_or_out_of_run_applications_are_skipped(rm: YarnResourceManagerEmulator) -> None:
    # GIVEN an application of yesterday on this RM
    rm.add_application(_app(f"application_{CLUSTER_TS}_0001", START - timedelta(days=1)))
    ids = [f"application_{CLUSTER_TS}_0001", "application_1700000000000_0042", "application_x; rm -rf"]
    # WHEN asked for it, an id of another cluster, and something that is not an id
    found = ResourceManagerApplications(port=rm.port).diagnostics(_cluster(rm.port), _step(), ids)
    # THEN each is skipped with its reason
    assert [e.state for e in found] == [EvidenceState.SKIPPED] * 3
    notes = [e.note or "" for e in found]
    assert "outside the step's run" in notes[0]
    assert "does not know it" in notes[1]
    assert "not a YARN application id" in notes[2]


def test_without_named_ids_the_unsuccessful_apps_of_the_step_run_are_read(rm: YarnResourceManagerEmulator) -> None:
    # GIVEN one failed and one succeeded application during the step, one failed an hour before
    rm.add_application(_app(f"application_{CLUSTER_TS}_0003", START + timedelta(minutes=1), diagnostics="boom"))
    rm.add_application(_app(f"application_{CLUSTER_TS}_0004", START + timedelta(minutes=2), "SUCCEEDED"))
    rm.add_application(_app(f"application_{CLUSTER_TS}_0002", START - timedelta(hours=1)))
    adapter = ResourceManagerApplications(port=rm.port)
    # WHEN the step's logs named none, THEN the one failed during the run is read
    (found,) = adapter.diagnostics(_cluster(rm.port), _step(), [])
    assert (found.location, found.state) == (f"application_{CLUSTER_TS}_0003", EvidenceState.FOUND)
    # ... but not on a cluster running steps concurrently (an app cannot be told to be this step's by its time)
    (skipped,) = adapter.diagnostics(_cluster(rm.port, concurrency=3), _step(), [])
    assert skipped.state is EvidenceState.SKIPPED


def test_a_resourcemanager_that_does_not_answer_is_skipped_quickly() -> None:
    # GIVEN nothing listening on the RM's port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    found = ResourceManagerApplications(port=port, timeout_s=0.5).diagnostics(
        _cluster(port), _step(), [f"application_{CLUSTER_TS}_0001"]
    )
    assert [e.state for e in found] == [EvidenceState.SKIPPED]
    assert "did not answer" in (found[0].note or "")

"""Every cell of the fault matrix holds: no harmful action, retries where they help, the dead-letter queue when they
do not, and one rate-limited notice of the error. The table itself: `.venv/bin/python bench/fault_matrix.py`."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.faults.injection import Fault
from tests.faults.matrix import Dependency, Env, cells, environment, expected, run_cell

pytestmark = pytest.mark.network


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with environment() as started:
        yield started


@pytest.mark.parametrize(
    ("dependency", "fault"), cells(), ids=[f"{d.name}-{f.value}".replace(" ", "_") for d, f in cells()]
)
def test_cell_holds(env: Env, dependency: Dependency, fault: Fault) -> None:
    # GIVEN one dependency failing in one way, every other one healthy, and what the cell promises
    want = expected(dependency, fault)

    # WHEN the event is delivered, redelivered while the fault lasts, and redriven once it cleared
    result = run_cell(env, dependency, fault)

    # THEN every promise holds (Expect.broken_by, shared with bench/fault_matrix.py):
    # - nothing harmful: no action on partial data, never twice; exactly the expected resizes / restarts /
    #   messages that reached the notifier's channel;
    # - the failing call was retried exactly where a retry can help;
    # - a delivery that cannot succeed fails (so its retries and then the dead-letter queue keep the event) and
    #   ends as the healthy path does once the fault cleared; one that can degrade safely does so;
    # - exactly the expected notices, each once (the notifier's dedup window applied, never once per delivery);
    #   the notifier loses no event: each channel it missed holds a dead letter for this event naming the
    #   channel, and the critical notice reached the fallback topic unless SNS itself was down
    assert want.broken_by(result) == []

"""Every cell of the fault matrix holds: no harmful action, retries where they help, the dead-letter queue when they
do not, and one rate-limited notice of the error. The table itself: `.venv/bin/python bench/fault_matrix.py`."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.faults.injection import Fault
from tests.faults.matrix import Dependency, Env, cells, environment, expected, run_cell

pytestmark = pytest.mark.network

# The holds that mean "the scaler cannot see": each is worth one warning per episode.
TROUBLE = ("held HOLD_METRICS_MISSING", "held HOLD_CONFIG_INVALID")


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with environment() as started:
        yield started


@pytest.mark.parametrize(
    ("dependency", "fault"), cells(), ids=[f"{d.name}-{f.value}".replace(" ", "_") for d, f in cells()]
)
def test_cell_holds(env: Env, dependency: Dependency, fault: Fault) -> None:
    # GIVEN one dependency failing in one way, every other one healthy
    want = expected(dependency, fault)

    # WHEN the event is delivered, redelivered while the fault lasts, and redriven once it cleared
    result = run_cell(env, dependency, fault)

    # THEN nothing harmful happened: no action on partial data, never twice
    assert result.harmful == ()
    assert result.mutations == want.mutations
    # ... the failing call was retried exactly where a retry can help
    assert (result.tries > 1) is want.retried, f"{result.tries} tries"
    # ... a delivery that cannot succeed fails (so its retries and then the dead-letter queue keep the event),
    # and succeeds once the fault cleared; one that can degrade safely does so
    assert result.raised is want.raised, result.outcome
    if want.raised:
        assert not result.recovered.startswith("raised")
    else:
        assert result.outcome.startswith(want.outcome)
    # ... and the error is told once (the notifier's dedup window applied), never once per delivery
    assert all(count == 1 for count in result.notices.values()) or dependency.function == "notifier"
    if result.raised:
        assert result.notices["health_alarm"] == 1
    if result.outcome.startswith(TROUBLE):
        assert result.notices["scaling_held"] == 1
    if dependency.function == "notifier" and not result.outcome.startswith("delivered"):
        failed_channels = 2 if dependency.name.startswith("SNS") else 1  # an SNS outage also fails the fallback
        assert result.notices.get("dead letter") == failed_channels
        assert result.notices.get("fallback", 0) <= 1

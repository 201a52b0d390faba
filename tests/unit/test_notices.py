"""Which scaling decisions become notices, and how severe."""

from __future__ import annotations

import pytest

from emr_autoscaler.kernel.notices import Severity
from emr_autoscaler.scaling.domain.decisions import Outcome, ReasonCode
from emr_autoscaler.scaling.domain.notices import TROUBLE_HOLDS, scaling_notice_severity


@pytest.mark.parametrize(
    ("reason", "outcome", "previous", "expected"),
    [
        pytest.param(ReasonCode.SCALE_OUT_PENDING_DEMAND, Outcome.APPLIED, None, Severity.INFO, id="action applied"),
        pytest.param(ReasonCode.SCALE_IN_IDLE, Outcome.FAILED, None, Severity.CRITICAL, id="action failed"),
        pytest.param(
            ReasonCode.HOLD_METRICS_MISSING, Outcome.HELD, ReasonCode.HOLD_STEADY, Severity.WARNING, id="trouble"
        ),
        pytest.param(
            ReasonCode.HOLD_METRICS_MISSING, Outcome.HELD, ReasonCode.HOLD_METRICS_MISSING, None, id="still stuck"
        ),
        pytest.param(ReasonCode.HOLD_STEADY, Outcome.HELD, ReasonCode.HOLD_METRICS_MISSING, None, id="recovered"),
        pytest.param(ReasonCode.HOLD_STABILIZING, Outcome.HELD, None, None, id="routine hold"),
        pytest.param(ReasonCode.SKIPPED_ALREADY_DECIDED, Outcome.SKIPPED, None, None, id="lost the race"),
    ],
)
def test_notice_severity(
    reason: ReasonCode, outcome: Outcome, previous: ReasonCode | None, expected: Severity | None
) -> None:
    # GIVEN a decision, its outcome and the cluster's previous reason
    # WHEN asked whether it deserves a notice
    # THEN actions inform, failures are critical, trouble warns once per episode, routine is silent
    assert scaling_notice_severity(reason, outcome, previous) is expected


def test_trouble_holds_never_act() -> None:
    # GIVEN the trouble holds, THEN there are some, each is a hold, and none of them is an acting reason
    assert TROUBLE_HOLDS
    assert {reason for reason in TROUBLE_HOLDS if not reason.name.startswith("HOLD_")} == set()
    assert {reason for reason in TROUBLE_HOLDS if reason.acts} == set()

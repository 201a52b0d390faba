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


def _spot_notice(action: str, kind: str = "spot_give_back") -> object:
    from datetime import UTC, datetime

    from emr_autoscaler.kernel.notices import NoticeKind, SpotEpisode
    from emr_autoscaler.notifications.domain.notice import app_notice

    episode = SpotEpisode.model_validate(
        {
            "action": action,
            "where": "fleet 'Task' (if-1)",
            "unit": "unit",
            "short": 8,
            "short_for_s": 2820,
            "on_demand_from": 8,
            "on_demand_to": 0 if action == "give_back" else 8,
            "spot_from": 16 if action == "give_back" else 8,
            "spot_to": 16,
            "max_on_demand": 20,
        }
    )
    return app_notice(
        kind=NoticeKind(kind),
        severity=Severity.INFO,
        event_id="e",
        region="eu-west-1",
        occurred_at=datetime(2026, 11, 26, tzinfo=UTC),
        reason_code="SCALE_SPOT_GIVE_BACK",
        explanation="…",
        cluster_id="j-ABC",
        spot=episode,
    )


def test_a_spot_retry_and_its_give_back_are_two_notices_titled_apart() -> None:
    # GIVEN the retry of a Spot fallback and, minutes later, its give-back (one reason code)
    retry, give = _spot_notice("retry"), _spot_notice("give_back")
    # THEN the notifier's dedup keeps them apart, and each title says what happened
    assert retry.dedup_reason != give.dedup_reason  # type: ignore[attr-defined]
    assert retry.title.startswith("Retrying Spot on EMR cluster j-ABC: fleet 'Task' (if-1): Spot asked again")  # type: ignore[attr-defined]
    assert give.title == (  # type: ignore[attr-defined]
        "Spot back on EMR cluster j-ABC: fleet 'Task' (if-1): Spot is back, 8 On-Demand unit(s) given back after "
        "47 min (On-Demand 8 → 0, Spot 16 → 16)"
    )


def test_a_fallback_event_is_a_spot_fallback_notice_whatever_its_node_change() -> None:
    # GIVEN a fallback decision that moved no node in total (On-Demand up by as much as Spot down)
    from emr_autoscaler.kernel.notices import NoticeKind
    from emr_autoscaler.notifications.domain.notice import app_notice_kind

    # THEN it is neither a hold nor a scale-in or -out
    assert app_notice_kind("Scaling Decision", "SCALE_SPOT_FALLBACK", Severity.WARNING, 0) is NoticeKind.SPOT_FALLBACK
    assert app_notice_kind("Scaling Decision", "SCALE_SPOT_GIVE_BACK", Severity.INFO, -4) is NoticeKind.SPOT_GIVE_BACK

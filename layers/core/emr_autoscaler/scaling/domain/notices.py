"""Which decisions deserve a notice, and how severe. Pure rules; the notifier renders and routes them."""

from __future__ import annotations

from emr_autoscaler.kernel.notices import Severity
from emr_autoscaler.scaling.domain.decisions import Outcome, ReasonCode

# Holds that mean the scaler cannot do its job for this cluster: ops should hear of them (once per episode).
TROUBLE_HOLDS = frozenset(
    {
        ReasonCode.HOLD_METRICS_MISSING,
        ReasonCode.HOLD_METRICS_STALE,
        ReasonCode.HOLD_METRICS_CONTRADICTORY,
        ReasonCode.HOLD_CONFIG_INVALID,
        ReasonCode.HOLD_NODE_CAPACITY_UNKNOWN,
        ReasonCode.HOLD_AT_MAX,
        ReasonCode.HOLD_SPOT_SHORT,
        ReasonCode.HOLD_CLUSTER_UNREADABLE,
        ReasonCode.HOLD_AM_LABEL_NOT_SCALABLE,
        ReasonCode.HOLD_OTHER_SCALER,
        ReasonCode.HOLD_OTHER_SCALER_UNREADABLE,
    }
)


def scaling_notice_severity(reason: ReasonCode, outcome: Outcome, previous: ReasonCode | None) -> Severity | None:
    """Scaling_notice_severity says whether a scaling decision is worth a notice, and how severe; None if not.

    Actions applied (or, in observe mode, that would have been) are info; a failed action is critical; a trouble
    hold is a warning the first time it is decided (a change from the previous reason), so a cluster stuck for an
    hour yields one notice, not sixty.
    """
    if outcome is Outcome.FAILED:
        return Severity.CRITICAL
    if outcome in (Outcome.APPLIED, Outcome.OBSERVED):
        # A Spot fallback means capacity was short: worth a warning, not a line in the info channel.
        return Severity.WARNING if reason is ReasonCode.SCALE_SPOT_FALLBACK else Severity.INFO
    if reason in TROUBLE_HOLDS and reason != previous:
        return Severity.WARNING
    return None

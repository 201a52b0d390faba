"""The notice vocabulary every job shares: how severe a notice is, and what kind of thing it tells."""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    """Severity of a notice, as the notifier routes it."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class NoticeKind(StrEnum):
    """NoticeKind says what happened; routing rules select on it."""

    CLUSTER_TERMINATED_WITH_ERRORS = "cluster_terminated_with_errors"
    STEP_FAILED = "step_failed"
    SCALED_OUT = "scaled_out"
    SCALED_IN = "scaled_in"
    SCALING_HELD = "scaling_held"
    SCALING_FAILED = "scaling_failed"
    CONFIGURATION_REFUSED = "configuration_refused"
    STEP_RETRY_SCHEDULED = "step_retry_scheduled"
    STEP_RETRY_ADDED = "step_retry_added"
    STEP_RETRY_GIVEN_UP = "step_retry_given_up"
    CLUSTER_WATCH = "cluster_watch"
    HEALTH_ALARM = "health_alarm"


def severity_rank(severity: Severity) -> int:
    """Severity_rank orders severities: info 0 < warning 1 < critical 2."""
    return _SEVERITY_RANK[severity]

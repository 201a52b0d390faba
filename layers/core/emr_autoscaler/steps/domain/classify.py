"""Classify a failed step: the first matching rule of the profile (its `extra_rules`, then `rules`) wins. Pure."""

from __future__ import annotations

from emr_autoscaler.kernel.config.steps import FailureClass, StepRetryPolicy
from emr_autoscaler.steps.domain.models import FailureDetails


def classify_failure(policy: StepRetryPolicy, failure: FailureDetails | None) -> tuple[FailureClass | None, str | None]:
    """Classify_failure returns (class, rule name) of the first matching rule, or (None, None) when none matches."""
    if failure is None:
        return None, None
    for rule in (*policy.extra_rules, *policy.rules):
        if rule.matches(failure.reason or "", failure.message or ""):
            return rule.kind, rule.name
    return None, None

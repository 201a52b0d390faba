"""Classify a failed step from its FailureDetails alone: the first matching rule of the profile wins. Pure.

The full classification over every source (FailureDetails, YARN diagnostics, step logs) is `evidence.classify`.
"""

from __future__ import annotations

from emr_autoscaler.kernel.config.steps import FailureClass, StepRetryPolicy
from emr_autoscaler.steps.domain.evidence import Evidence, EvidenceSource, classify
from emr_autoscaler.steps.domain.models import FailureDetails


def classify_failure(policy: StepRetryPolicy, failure: FailureDetails | None) -> tuple[FailureClass | None, str | None]:
    """Classify_failure returns (class, rule name) of the first rule matching FailureDetails, or (None, None)."""
    if failure is None:
        return None, None
    evidence = [
        Evidence(source=EvidenceSource.FAILURE_DETAILS, field=field, text=text or "")
        for field, text in (("reason", failure.reason), ("message", failure.message))
    ]
    found = classify(policy, evidence)
    return (found[0], found[1].rule) if found else (None, None)

"""Evidence of why a step failed, from the sources the step-restart job reads, in the order it trusts them. Pure.

1. `failure_details`: DescribeStep's Status.FailureDetails. EMR fills it "for many common failures" only, and says
   `Reason: "Unknown Error"` otherwise (https://docs.aws.amazon.com/emr/latest/APIReference/API_FailureDetails.html).
2. `yarn`: the final status and diagnostics of the step's YARN application, from the cluster's ResourceManager
   (`GET /ws/v1/cluster/apps/{appid}`, https://hadoop.apache.org/docs/current/hadoop-yarn/hadoop-yarn-site/
   ResourceManagerRest.html#Cluster_Application_API): where node loss and containers killed by YARN are told.
3. `step_log`: the tail of the step's logs in S3 (`<LogUri>/<cluster id>/steps/<step id>/stderr.gz`,
   `controller.gz`, and the LogFile EMR names), archived by EMR about every five minutes.

An adapter returns one `Evidence` per text it read, or one per source it could not read (SKIPPED with a note, or
NOT_YET when the logs are not archived yet). Nothing here does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from enum import StrEnum

from emr_autoscaler.kernel.config.steps import FailureClass, StepRetryPolicy
from emr_autoscaler.kernel.models import Frozen
from emr_autoscaler.steps.domain.models import FailedStep, Finding

# YARN application ids are application_<RM start time in ms>_<sequence number>.
_APPLICATION_ID = re.compile(r"\bapplication_(\d{10,16})_(\d{1,10})\b")
MAX_APPLICATIONS = 3


class EvidenceSource(StrEnum):
    """EvidenceSource names where a text about a failure came from, in the order sources are trusted."""

    FAILURE_DETAILS = "failure_details"
    YARN = "yarn"
    STEP_LOG = "step_log"


SOURCE_ORDER = (EvidenceSource.FAILURE_DETAILS, EvidenceSource.YARN, EvidenceSource.STEP_LOG)


class EvidenceState(StrEnum):
    """EvidenceState says whether a text was read, is not there yet, or was skipped (with a note saying why)."""

    FOUND = "found"
    NOT_YET = "not_yet"
    SKIPPED = "skipped"


class Evidence(Frozen):
    """Evidence is one text about a failure (`field` is what rules read: reason, message, diagnostics, log).

    `location` is where it was read (an S3 URI, an application id); `note` says why it is NOT_YET or SKIPPED.
    """

    source: EvidenceSource
    field: str
    state: EvidenceState = EvidenceState.FOUND
    text: str = ""
    location: str | None = None
    note: str | None = None


def failure_details_evidence(step: FailedStep) -> tuple[Evidence, ...]:
    """Failure_details_evidence is the step's FailureDetails `reason` and `message` as evidence."""
    failure = step.failure
    if failure is None:
        return ()
    return tuple(
        Evidence(source=EvidenceSource.FAILURE_DETAILS, field=field, text=text, location=failure.log_file)
        for field, text in (("reason", failure.reason), ("message", failure.message))
        if text
    )


def classify(policy: StepRetryPolicy, evidence: Sequence[Evidence]) -> tuple[FailureClass, Finding] | None:
    """Classify returns the class and finding of the first rule matching the most trusted source, or None.

    Sources are tried in SOURCE_ORDER; within a source the profile's `extra_rules` then `rules`, in order; a rule
    reads only the fields it names. Only FOUND evidence is read.
    """
    rules = (*policy.extra_rules, *policy.rules)
    for source in SOURCE_ORDER:
        texts = [e for e in evidence if e.source is source and e.state is EvidenceState.FOUND and e.text]
        if not texts:
            continue
        for rule in rules:
            for item in texts:
                line = rule.matching_line(item.field, item.text)
                if line is not None:
                    finding = Finding(
                        source=source.value, field=item.field, rule=rule.name, line=line, location=item.location
                    )
                    return rule.kind, finding
    return None


def logs_pending(evidence: Sequence[Evidence]) -> bool:
    """Logs_pending is true when no step log was found and at least one is not archived yet."""
    logs = [e for e in evidence if e.source is EvidenceSource.STEP_LOG]
    return any(e.state is EvidenceState.NOT_YET for e in logs) and not any(e.state is EvidenceState.FOUND for e in logs)


def application_ids(texts: Iterable[str]) -> tuple[str, ...]:
    """Application_ids are the YARN application ids the texts name, the last named first, at most MAX_APPLICATIONS.

    The last first: spark-submit prints "Submitted application application_…" and then reports on it until it ends.
    """
    found: list[str] = []
    for text in texts:
        for match in _APPLICATION_ID.finditer(text):
            if match.group(0) in found:
                found.remove(match.group(0))
            found.append(match.group(0))
    return tuple(reversed(found))[:MAX_APPLICATIONS]


def skipped_notes(evidence: Sequence[Evidence]) -> tuple[str, ...]:
    """Skipped_notes are the notes of evidence that could not be read (for the log line of a decision)."""
    return tuple(f"{e.source.value}: {e.note}" for e in evidence if e.state is not EvidenceState.FOUND and e.note)

"""Step-retry triggers: EMR `Step Status Change` FAILED events (as a (source, detail-type) table) and the retry
queue's messages.

Decisions use the event's structured fields (cluster id, step id, state), never its `message` text.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter

from emr_autoscaler.eventbridge import DetailType, Envelope, Ignored, Routes, Source, StepStatusChangeDetail, route
from emr_autoscaler.steps.domain.models import EvidenceRecheck, ScheduledRetry


class StepFailure(BaseModel):
    """StepFailure: the failed step to consider restarting (from one FAILED event)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str
    cluster_id: str
    step_id: str
    step_name: str
    action_on_failure: str | None = None


def _step_status(event: Envelope, detail: StepStatusChangeDetail) -> StepFailure | Ignored:
    if detail.state != "FAILED":
        # The rule filters on FAILED; a wider rule (or a replay) must not restart completed or cancelled steps.
        return Ignored(reason=f"step {detail.step_id} is {detail.state[:32]}, not FAILED")
    return StepFailure(
        event_id=event.id,
        cluster_id=detail.cluster_id,
        step_id=detail.step_id,
        step_name=detail.name or "",
        action_on_failure=detail.action_on_failure,
    )


STEP_ROUTES: Routes[StepFailure | Ignored] = {(Source.EMR, DetailType.STEP_STATUS_CHANGE): _step_status}


def parse_step_failure(event: Any) -> StepFailure | Ignored:
    """Parse_step_failure maps an EMR step FAILED event to a StepFailure; other or malformed events are ignored."""
    return route(event, STEP_ROUTES)


_RETRY_MESSAGE: TypeAdapter[ScheduledRetry | EvidenceRecheck] = TypeAdapter(ScheduledRetry | EvidenceRecheck)


def parse_retry_message(body: str) -> ScheduledRetry | EvidenceRecheck:
    """Parse_retry_message reads a retry queue message body: a due restart, or a new look at a failed step's
    evidence (raises pydantic's ValidationError when malformed)."""
    return _RETRY_MESSAGE.validate_json(body)

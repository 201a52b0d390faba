"""Trigger parsing for the step-retry job: EMR `Step Status Change` events and the retry queue's messages.

The EventBridge event is parsed with a Powertools Parser model of its real shape. Decisions use its structured
fields (cluster id, step id, state), never its `message` text. Anything else becomes an `IgnoredStepEvent` with
a reason, never an exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field

from emr_autoscaler.steps.domain.models import ScheduledRetry

_CLUSTER_ID = r"^j-[A-Z0-9]{1,64}$"
_STEP_ID = r"^s-[A-Z0-9]{1,64}$"
STEP_EVENT_SOURCE = "aws.emr"
STEP_EVENT_DETAIL_TYPE = "EMR Step Status Change"


class StepStatusChangeDetail(BaseModel):
    """StepStatusChangeDetail is the `detail` of EMR's `EMR Step Status Change` event."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    cluster_id: str = Field(alias="clusterId", pattern=_CLUSTER_ID)
    step_id: str = Field(alias="stepId", pattern=_STEP_ID)
    name: str = ""
    state: str
    action_on_failure: str | None = Field(default=None, alias="actionOnFailure")
    severity: str | None = None
    message: str | None = None


class StepStatusChangeEvent(EventBridgeModel):
    """StepStatusChangeEvent is the whole EventBridge event (id, time, source, detail-type, detail)."""

    detail: StepStatusChangeDetail


class StepFailure(BaseModel):
    """StepFailure: the failed step to consider restarting (from one FAILED event)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str
    cluster_id: str
    step_id: str
    step_name: str
    action_on_failure: str | None = None


class IgnoredStepEvent(BaseModel):
    """IgnoredStepEvent: an event the step-retry job does not handle, with the reason."""

    model_config = ConfigDict(frozen=True)

    reason: str


def parse_step_failure(event: Any) -> StepFailure | IgnoredStepEvent:
    """Parse_step_failure maps an EMR step FAILED event to a StepFailure; other or malformed events are ignored."""
    if not isinstance(event, Mapping):
        return IgnoredStepEvent(reason=f"event is a {type(event).__name__}, not a JSON object")
    if (event.get("source"), event.get("detail-type")) != (STEP_EVENT_SOURCE, STEP_EVENT_DETAIL_TYPE):
        return IgnoredStepEvent(
            reason=f"no handler for source {str(event.get('source'))[:64]!r} / {str(event.get('detail-type'))[:64]!r}"
        )
    try:
        parsed = parse(event=dict(event), model=StepStatusChangeEvent)
    except ValidationError as error:
        return IgnoredStepEvent(reason=f"malformed {STEP_EVENT_DETAIL_TYPE} event: {_first_error(error)}")
    detail = parsed.detail
    if detail.state != "FAILED":
        # The rule filters on FAILED; a wider rule (or a replay) must not restart completed or cancelled steps.
        return IgnoredStepEvent(reason=f"step {detail.step_id} is {detail.state[:32]}, not FAILED")
    return StepFailure(
        event_id=parsed.id,
        cluster_id=detail.cluster_id,
        step_id=detail.step_id,
        step_name=detail.name,
        action_on_failure=detail.action_on_failure,
    )


def parse_retry_message(body: str) -> ScheduledRetry:
    """Parse_retry_message reads a retry queue message body (raises pydantic's ValidationError when malformed)."""
    return ScheduledRetry.model_validate_json(body)


def _first_error(error: Any) -> str:
    errors = error.errors() if hasattr(error, "errors") else []
    if not errors:
        return str(error)[:200]
    first = errors[0]
    return f"{'.'.join(str(p) for p in first['loc']) or 'event'}: {first['msg']}"

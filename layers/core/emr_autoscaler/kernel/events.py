"""The application's own events (source `emr-autoscaler`) on its EventBridge bus: what the notifier consumes.

One envelope for every job: scaling decisions, refused configuration, step retries. Producers build an
`AppEvent`; `EventBridgePublisher` puts it on the bus; the notifier parses it back with the same model.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from emr_autoscaler.kernel.notices import Severity

APP_EVENT_SOURCE = "emr-autoscaler"


class AppReason(StrEnum):
    """AppReason is the reason code of application events that no job's own enum names (configuration, profiles)."""

    CONFIG_INVALID = "CONFIG_INVALID"
    PROFILE_UNKNOWN = "PROFILE_UNKNOWN"
    NODE_LABELS_UNREADABLE = "NODE_LABELS_UNREADABLE"


class AppDetailType(StrEnum):
    """AppDetailType is the EventBridge detail-type of each application event."""

    SCALING_DECISION = "Scaling Decision"
    CONFIGURATION_REFUSED = "Configuration Refused"
    STEP_RETRY_SCHEDULED = "Step Retry Scheduled"
    STEP_RETRY_ADDED = "Step Retry Added"
    STEP_RETRY_GIVEN_UP = "Step Retry Given Up"
    CLUSTER_WATCH = "Cluster Watch"


class AppEventDetail(BaseModel):
    """AppEventDetail is the `detail` of every application event (structured fields, no free-text parsing).

    `reason_code` is the producer's machine-readable reason; `explanation` the one-line human sentence;
    `action` what the autoscaler did or will do.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    reason_code: str
    explanation: str
    severity: Severity
    cluster_id: str | None = None
    cluster_name: str | None = None
    action: str | None = None
    step_id: str | None = None
    step_name: str | None = None
    state: str | None = None
    log_location: str | None = None
    attempt: int | None = None
    max_attempts: int | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class AppEvent(BaseModel):
    """AppEvent is one application event: a detail-type and its detail."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    detail_type: AppDetailType
    detail: AppEventDetail

    def to_entry(self, bus: str) -> dict[str, Any]:
        """To_entry renders the PutEvents entry for `bus`."""
        return {
            "Source": APP_EVENT_SOURCE,
            "DetailType": self.detail_type.value,
            "Detail": self.detail.model_dump_json(exclude_none=True),
            "EventBusName": bus,
        }


class EventPublisher(Protocol):
    """EventPublisher puts application events on the bus."""

    def publish(self, events: Sequence[AppEvent]) -> None:
        """Publish sends the events; raises when the bus refuses any (so the invocation is retried)."""
        ...


class PublishFailedError(RuntimeError):
    """PublishFailedError: EventBridge refused at least one entry after botocore's retries."""


def configuration_refused_event(message: str) -> AppEvent:
    """Configuration_refused_event tells ops their configuration edit was refused and the last good one stays."""
    return AppEvent(
        detail_type=AppDetailType.CONFIGURATION_REFUSED,
        detail=AppEventDetail(
            reason_code=AppReason.CONFIG_INVALID,
            explanation=message,
            severity=Severity.WARNING,
            action="kept the last valid configuration; no cluster is resized on the refused one",
        ),
    )

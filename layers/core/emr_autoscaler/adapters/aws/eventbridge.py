"""EventBridgePublisher: puts the application's events on its bus (PutEvents)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from emr_autoscaler.kernel.events import AppEvent, PublishFailedError

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

logger = logging.getLogger(__name__)


class EventBridgePublisher:
    """EventBridgePublisher sends application events with PutEvents (batches of 10, EventBridge's limit)."""

    def __init__(self, client: EventBridgeClient, bus: str) -> None:
        self._client = client
        self._bus = bus

    def publish(self, events: Sequence[AppEvent]) -> None:
        """Publish sends every event; raises PublishFailedError naming the refused entries' errors."""
        entries: list[Any] = [e.to_entry(self._bus) for e in events]
        for start in range(0, len(entries), 10):
            batch = entries[start : start + 10]
            response = self._client.put_events(Entries=batch)
            if response.get("FailedEntryCount", 0):
                errors = {r.get("ErrorCode", "?") for r in response.get("Entries", []) if r.get("ErrorCode")}
                raise PublishFailedError(
                    f"EventBridge refused {response['FailedEntryCount']} event(s): {sorted(errors)}"
                )
            logger.debug("published %d application event(s) to %s", len(batch), self._bus)

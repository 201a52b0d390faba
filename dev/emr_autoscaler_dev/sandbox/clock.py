"""Clock: the sandbox's simulated time, and the template's `rate(...)` schedules fired on it.

Time moves only when the sandbox advances it, a minute at a time, so an hour of a pipeline plays in seconds and
every run reads the same clock (the functions read it through `bootstrap.set_clock`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from emr_autoscaler_dev.sandbox.functions import EventSource, SandboxFunction
from emr_autoscaler_dev.sandbox.template import ACCOUNT_ID, REGION

START = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours)\)$")


def schedule_minutes(expression: str) -> int | None:
    """Schedule_minutes is the period in minutes of a `rate(N minutes|hours)` expression; None for anything else."""
    match = _RATE.match(expression)
    if not match:
        return None
    return int(match.group(1)) * (60 if match.group(2).startswith("hour") else 1)


class Clock:
    """Clock is the simulated time (`now`, UTC) and the number of minutes it has advanced (`minute`)."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start
        self.minute = 0

    def tick(self) -> None:
        """Tick advances the clock by one minute."""
        self.now += timedelta(minutes=1)
        self.minute += 1

    def due(self, functions: Iterable[SandboxFunction]) -> list[tuple[SandboxFunction, EventSource]]:
        """Due lists the schedules that fire this minute, in template order."""
        return [
            (function, source)
            for function in functions
            for source in function.sources
            if source.kind == "Schedule" and self.minute % source.every_min == 0
        ]

    def scheduled_event(self, function: SandboxFunction, source: EventSource) -> dict[str, Any]:
        """Scheduled_event is the event EventBridge delivers when `source` fires now."""
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT_ID,
            "time": self.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION,
            "resources": [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{function.logical_id}{source.name}"],
            "detail": {},
        }

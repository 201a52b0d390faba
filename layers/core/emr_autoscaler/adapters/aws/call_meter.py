"""CallMeter: counts the AWS API calls a set of boto3 clients make (botocore's `before-call` event).

The scaler reports the count per batch of evaluations (`AwsCallRate`), next to the budget that bounds it.
"""

from __future__ import annotations

import threading
from typing import Any


class CallMeter:
    """CallMeter counts every API call of the clients passed to `watch`; `total()` is the running count."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen = 0

    def watch(self, *clients: Any) -> CallMeter:
        """Watch registers the meter on each client's event system and returns the meter."""
        for client in clients:
            client.meta.events.register("before-call.*.*", self._count)
        return self

    def _count(self, **_kwargs: Any) -> None:
        with self._lock:  # the sandbox runs concurrent invocations in threads of one process
            self._seen += 1

    def total(self) -> int:
        """Total is the number of calls counted so far."""
        return self._seen

"""CallMeter: counts the AWS API calls a set of boto3 clients make (botocore's `before-call` event).

The scaler reports the count per batch of evaluations (`AwsCallRate`, `AwsCallsPerEvaluation`), next to the budget
that bounds it. Counts are per thread: an invocation runs in one thread, and the sandbox runs concurrent
invocations in threads of one process, sharing the clients.
"""

from __future__ import annotations

import threading
from typing import Any


class CallMeter:
    """CallMeter counts every API call of the clients passed to `watch`; `total()` is the calling thread's count."""

    def __init__(self) -> None:
        self._local = threading.local()

    def watch(self, *clients: Any) -> CallMeter:
        """Watch registers the meter on each client's event system and returns the meter."""
        for client in clients:
            client.meta.events.register("before-call.*.*", self._count)
        return self

    def _count(self, **_kwargs: Any) -> None:
        self._local.calls = self.total() + 1

    def total(self) -> int:
        """Total is the number of calls this thread's clients made so far."""
        calls: int = getattr(self._local, "calls", 0)
        return calls

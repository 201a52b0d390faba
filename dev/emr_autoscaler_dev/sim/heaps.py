"""The simulator's priority queues: what happens next (`EventQueue`), a container size's waiting tasks (`EntryHeap`).

This module is the reference, in plain Python on `heapq`. The compiled core (compiled.py) builds `heaps.pyx` in its
place: the same classes, the same methods and the same order, on C arrays, so a push or a pop allocates no Python
object and compares C numbers, not tuples of Python floats and integers. A simulated day pushes and pops a few
million of each; as Python tuples and integers they were about a fifth of a compiled run.

Both orders are total (every key differs), so any correct heap pops in the same order: the two builds place every
container alike. `tests/unit/sim/test_heaps.py` drives both with the same random operations and compares what pops.
"""

from __future__ import annotations

from heapq import heapify, heappop, heappush
from math import inf

# An entry's `low` part: its request's job index and phase, then a stamp in the low STAMP_BITS bits (waiting.py).
STAMP_BITS = 40
_STAMP_MASK = (1 << STAMP_BITS) - 1
# `usage` and `low` packed in one integer that orders as the pair does (low stays below 2**63).
_USAGE_UNIT = 1 << 63


class EventQueue:
    """EventQueue holds timed events in (time s, kind, order pushed) order; each carries a payload object."""

    __slots__ = ("_heap", "_seq")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, int, object]] = []
        self._seq = 0

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, at_s: float, kind: int, payload: object) -> None:
        """Push adds an event at `at_s`; among events at the same time, lower kinds first, then the first pushed."""
        self._seq += 1
        heappush(self._heap, (at_s, kind, self._seq, payload))

    def head_s(self) -> float:
        """Head_s is the next event's time (s), infinite when none is queued."""
        return self._heap[0][0] if self._heap else inf

    def head_kind(self) -> int:
        """Head_kind is the next event's kind (the queue must not be empty)."""
        return self._heap[0][1]

    def pop(self) -> object:
        """Pop removes the next event and returns its payload (the queue must not be empty)."""
        return heappop(self._heap)[3]


class EntryHeap:
    """EntryHeap holds a task queue's entries, each a (usage, low) pair of integers and a payload, smallest pair first.

    `usage` is a job's memory in use (MB, 0 under FIFO), within a C long long; `low` packs the job index, the phase
    and a stamp (waiting.py) below 2**63. The payload is the entry's request: the entry is live while the request's
    `stamp` is the entry's (`retain_live`).
    """

    __slots__ = ("_heap", "_payloads", "_seq")

    def __init__(self) -> None:
        self._heap: list[tuple[int, int]] = []
        self._payloads: dict[int, object] = {}  # by the order pushed: pairs may repeat, payloads are not compared
        self._seq = 0

    def __len__(self) -> int:
        return len(self._heap)

    def size(self) -> int:
        """Size is how many entries the heap holds, live or stale."""
        return len(self._heap)

    def push(self, usage: int, low: int, payload: object) -> None:
        """Push adds an entry."""
        if not 0 <= low < _USAGE_UNIT or not -_USAGE_UNIT <= usage < _USAGE_UNIT:
            raise OverflowError(f"an entry ({usage}, {low}) is outside the heap's C range")
        self._seq += 1
        self._payloads[self._seq] = payload
        heappush(self._heap, (usage * _USAGE_UNIT + low, self._seq))

    def head_usage(self) -> int:
        """Head_usage is the smallest entry's usage (the heap must not be empty)."""
        return self._heap[0][0] >> 63

    def head_low(self) -> int:
        """Head_low is the smallest entry's low part (the heap must not be empty)."""
        return self._heap[0][0] & (_USAGE_UNIT - 1)

    def head_payload(self) -> object:
        """Head_payload is the smallest entry's payload (the heap must not be empty)."""
        return self._payloads[self._heap[0][1]]

    def before(self, other: EntryHeap) -> bool:
        """Before is true when this heap's smallest pair is smaller than `other`'s (neither may be empty)."""
        return self._heap[0][0] < other._heap[0][0]

    def pop(self) -> object:
        """Pop drops the smallest entry and returns its payload (the heap must not be empty)."""
        return self._payloads.pop(heappop(self._heap)[1])

    def retain_live(self) -> int:
        """Retain_live drops the stale entries (their payload's `stamp` is no longer theirs), returns how many stay."""
        live = [e for e in self._heap if e[0] & _STAMP_MASK == getattr(self._payloads[e[1]], "stamp", None)]
        self._payloads = {e[1]: self._payloads[e[1]] for e in live}
        heapify(live)
        self._heap = live
        return len(live)

"""The waiting task requests in the scheduler's order, found without sorting them all at every event.

The Fair Scheduler serves first the job that uses the least memory now, then the oldest (`(usage, job index,
phase)`); FIFO serves the oldest (`usage` is 0 for every job). A pass of the scheduler usually places one or two
containers on the node that just freed room, so re-sorting every waiting request (thousands on a busy 300-node
cluster) at each of the ~2 million container ends of a day cost most of a run. Here each container size has a
heap of `(usage, key, stamp, request)` entries; an entry is live while its stamp is the request's, so a change of
a job's usage pushes fresh entries instead of reordering, and stale ones are dropped when they surface. Sizes
that cannot fit the roomiest node are not even looked at.

A few waiting requests (a 20-node cluster has about ten) are better sorted at each pass: the cluster builds a
queue when more than `HEAP_ABOVE` requests wait and drops it below half as many.

Within a pass the order is the one at its start, as when the requests were sorted once per pass: usage changed by
the pass's own placements is pushed by `settle()` at its end.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from typing import Protocol, TypeAlias


class Waiting(Protocol):
    """Waiting is what the queue needs of a request: its size, key, job, how many containers wait, its stamp."""

    count: int
    key: tuple[int, int]
    memory_mb: int
    vcores: int
    stamp: int


# Not a `type` statement: Cython (compiled.py) does not parse those yet.
Entry: TypeAlias = tuple[int, tuple[int, int], int, Waiting]  # noqa: UP040


# Heaps pay off above this many waiting requests, and are dropped again below half of it.
HEAP_ABOVE = 64


class TaskQueue:
    """TaskQueue holds the waiting task requests in `(usage, key)` order, one heap per container size."""

    def __init__(self, usage: dict[int, int], requests: Iterable[Waiting], *, fair: bool) -> None:
        self._usage = usage
        self._fair = fair
        self._heaps: dict[tuple[int, int], list[Entry]] = {}
        self._by_job: dict[int, list[Waiting]] = {}
        self._stamps = 0  # the last stamp given (a live entry's is never 0)
        self._popped: list[Waiting] = []
        self._touched: set[int] = set()
        self._entries = 0
        self._live = 0
        self._passing = False
        self._later: list[Waiting] = []
        for request in requests:
            self.add(request)

    def __len__(self) -> int:
        return self._live

    def _enter(self, request: Waiting) -> None:
        self._stamps += 1
        stamp = self._stamps
        request.stamp = stamp
        usage = self._usage.get(request.key[0], 0) if self._fair else 0
        heap = self._heaps.setdefault((request.memory_mb, request.vcores), [])
        heapq.heappush(heap, (usage, request.key, stamp, request))
        self._entries += 1

    def add(self, request: Waiting) -> None:
        """Add queues a new request in its place; one made during a pass (an AM's maps) waits for the next."""
        if self._passing:
            self._later.append(request)
            return
        self._by_job.setdefault(request.key[0], []).append(request)
        self._live += 1
        self._enter(request)

    def usage_changed(self, job_index: int) -> None:
        """Usage_changed re-enters a job's waiting requests after its memory in use changed outside a pass."""
        if self._fair:
            for request in self._by_job.get(job_index, ()):
                if request.count:
                    self._enter(request)

    def placed(self, job_index: int) -> None:
        """Placed notes a placement during a pass: the job's requests move at the pass's end (`settle`)."""
        self._touched.add(job_index)

    def in_order(self, most_mb: int, most_vcores: int) -> Iterator[Entry]:
        """In_order yields the live entries that may fit a node with the given room, best first, as it goes.

        Each yielded request leaves its heap until `settle()`; what is not reached stays where it was.
        """
        self._passing = True
        return _InOrder(self, [h for (mb, vc), h in self._heaps.items() if mb <= most_mb and vc <= most_vcores])

    def settle(self) -> None:
        """Settle ends a pass: what it took and did not finish goes back, jobs it placed move to their new usage."""
        popped = self._popped
        self._passing = False
        if not popped and not self._touched and not self._later:
            return
        for request in popped:
            if request.count:
                self._enter(request)
        for job_index in self._touched:
            requests = self._by_job.get(job_index)
            if requests is None:
                continue
            left = [r for r in requests if r.count]
            self._live -= len(requests) - len(left)
            if not left:
                del self._by_job[job_index]
                continue
            self._by_job[job_index] = left
            if self._fair:
                for request in left:
                    if request not in popped:  # still in its heap at the old usage: enter it at the new one
                        self._enter(request)
        popped.clear()
        self._touched.clear()
        later, self._later = self._later, []
        for request in later:
            self.add(request)
        if self._entries > 4 * self._live + 64:
            for size, heap in self._heaps.items():
                live = [e for e in heap if e[2] == e[3].stamp and e[3].count]
                heapq.heapify(live)
                self._heaps[size] = live
            self._entries = 0
            for heap in self._heaps.values():
                self._entries += len(heap)


class _InOrder:
    """_InOrder walks a TaskQueue's heaps of the sizes that may fit, best entry first.

    An iterator object rather than a generator: a pass of the scheduler makes one and usually takes one or two
    entries from it, millions of times a simulated day.
    """

    __slots__ = ("_heaps", "_queue")

    def __init__(self, queue: TaskQueue, heaps: list[list[Entry]]) -> None:
        self._queue = queue
        self._heaps = heaps

    def __iter__(self) -> _InOrder:
        return self

    def __next__(self) -> Entry:
        queue = self._queue
        best: list[Entry] | None = None
        for heap in self._heaps:
            while heap and (heap[0][2] != heap[0][3].stamp or not heap[0][3].count):
                heapq.heappop(heap)
                queue._entries -= 1
            if heap and (best is None or heap[0] < best[0]):
                best = heap
        if best is None:
            raise StopIteration
        entry = heapq.heappop(best)
        queue._entries -= 1
        request = entry[3]
        request.stamp = 0  # out of the heap: any entry still there for it is stale
        queue._popped.append(request)
        return entry

"""What waits for room in YARN (`Request`: a job phase's containers), and the waiting tasks in the scheduler's order.

The Fair Scheduler serves first the job that uses the least memory now, then the oldest (`(usage, job index,
phase)`); FIFO serves the oldest (`usage` is 0 for every job). A pass of the scheduler usually places one or two
containers on the node that just freed room, so re-sorting every waiting request (thousands on a busy 300-node
cluster) at each of the ~2 million container ends of a day cost most of a run. Here each container size has a
heap of entries (heaps.py's `EntryHeap`, C arrays when compiled), each a pair of integers that orders as
`(usage, job index, phase, stamp)` does: the usage, then the rest packed in one (`entry_low`), with the request as
its payload. An entry is live while its stamp is its request's, so a change of a job's usage pushes fresh entries
instead of reordering, and stale ones are dropped when they surface. Sizes that cannot fit the roomiest node are
not even looked at.

A few waiting requests (a 20-node cluster has about ten) are better sorted at each pass: the cluster builds a
queue when more than `HEAP_ABOVE` requests wait and drops it below half as many. Measured on the compiled core
(first 8 hours of the 300-node day, best of 7): 2.95 s with 64, 2.13 s with 16, 2.25 s with 8, 2.56 s with 4.

Within a pass the order is the one at its start, as when the requests were sorted once per pass: usage changed by
the pass's own placements is pushed by `settle()` at its end.
"""

from __future__ import annotations

from collections.abc import Iterable
from math import inf

from emr_autoscaler_dev.sim.heaps import STAMP_BITS, EntryHeap
from emr_autoscaler_dev.sim.workload import Job

# A container's phase: its job's ApplicationMaster, one of its maps, one of its reduces.
AM = 0
MAP = 1
REDUCE = 2


def container_size(job: Job, phase: int) -> tuple[int, int]:
    """Container_size is one container's (memory MB, vcores) for a job's phase (AM, MAP or REDUCE)."""
    if phase == AM:
        return job.am_memory_mb, job.am_vcores
    if phase == REDUCE:
        return job.reduce_memory_mb, job.reduce_vcores
    return job.map_memory_mb, job.map_vcores


class Request:
    """Request is a job phase's containers waiting for room, ordered by (job index, phase)."""

    __slots__ = ("count", "duration_s", "heap", "job", "job_index", "key", "memory_mb", "phase", "stamp", "vcores")

    def __init__(self, job: Job, phase: int, count: int) -> None:
        self.job = job
        self.job_index = job.index
        self.phase = phase
        self.count = count
        self.key = (job.index, phase)
        # How long each container runs once placed (s): an AM ends with its job, not at a known time.
        self.duration_s = inf if phase == AM else job.reduce_s if phase == REDUCE else job.map_s
        self.memory_mb, self.vcores = container_size(job, phase)
        self.stamp = 0  # its live entry in the TaskQueue (0: none)
        self.heap: EntryHeap | None = None  # the TaskQueue's heap of its size, set when it was added to one


# Heaps pay off above this many waiting requests, and are dropped again below half of it (see above).
HEAP_ABOVE = 16

# An entry is its job's usage and the job index, phase and stamp packed in one integer, stamp in the low bits: the
# pair orders as their tuple does while the job index stays below 2**JOB_BITS and the stamp below 2**STAMP_BITS
# (both checked); the packed part fits in 63 bits, a C integer.
JOB_BITS = 21
_STAMP_MASK = (1 << STAMP_BITS) - 1
_PHASE_UNIT = 1 << STAMP_BITS


def entry_low(job_index: int, phase: int, stamp: int) -> int:
    """Entry_low packs a request's job index, phase and stamp in one integer that orders as their tuple does.

    The job index and the stamp must stay below their bits, the phase below 4.
    """
    return (job_index * 4 + phase) * _PHASE_UNIT + stamp


class TaskQueue:
    """TaskQueue holds the waiting task requests in `(usage, key)` order, one heap per container size."""

    def __init__(self, usage: dict[int, int], requests: Iterable[Request], *, fair: bool) -> None:
        self._usage = usage
        self._fair = fair
        self._heaps: dict[tuple[int, int], EntryHeap] = {}
        self._by_job: dict[int, list[Request]] = {}
        self._stamps = 0  # the last stamp given (a live entry's is never 0)
        self._popped: list[Request] = []
        self._touched: set[int] = set()
        self._entries = 0
        self._waiting = 0
        self._passing = False
        self._later: list[Request] = []
        for request in requests:
            self.add(request)

    def __len__(self) -> int:
        return self._waiting

    def _enter(self, request: Request) -> None:
        self._stamps += 1
        stamp = self._stamps
        if stamp > _STAMP_MASK:
            raise OverflowError(f"the task queue gave out {_STAMP_MASK:,} stamps")
        request.stamp = stamp  # any entry of its still in a heap goes stale
        job_index = request.job_index
        usage = self._usage.get(job_index, 0) if self._fair else 0
        heap = request.heap
        assert heap is not None  # set by add()
        heap.push(usage, entry_low(job_index, request.phase, stamp), request)
        self._entries += 1

    def add(self, request: Request) -> None:
        """Add queues a new request in its place; one made during a pass (an AM's maps) waits for the next."""
        if self._passing:
            self._later.append(request)
            return
        if request.job_index >> JOB_BITS:
            raise ValueError(f"job index {request.job_index} is beyond the task queue's {1 << JOB_BITS:,} jobs")
        heap = self._heaps.get((request.memory_mb, request.vcores))
        if heap is None:
            heap = self._heaps[request.memory_mb, request.vcores] = EntryHeap()
        request.heap = heap
        self._by_job.setdefault(request.job_index, []).append(request)
        self._waiting += 1
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

    def in_order(self, most_mb: int, most_vcores: int) -> InOrder:
        """In_order yields the live requests that may fit a node with the given room, best first, as it goes.

        Each yielded request leaves its heap until `settle()`; what is not reached stays where it was.
        """
        self._passing = True
        return InOrder(self, [h for (mb, vc), h in self._heaps.items() if mb <= most_mb and vc <= most_vcores])

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
            self._waiting -= len(requests) - len(left)
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
        if self._entries > 4 * self._waiting + 64:
            self._entries = 0
            for heap in self._heaps.values():
                self._entries += heap.retain_live()


class InOrder:
    """InOrder walks a TaskQueue's heaps of the sizes that may fit, best live request first; `usage` is the last's.

    An iterator object rather than a generator: a pass of the scheduler makes one and usually takes one or two
    requests from it, millions of times a simulated day.
    """

    __slots__ = ("_heaps", "_queue", "usage")

    def __init__(self, queue: TaskQueue, heaps: list[EntryHeap]) -> None:
        self._queue = queue
        self._heaps = heaps
        self.usage = 0  # the usage the last request yielded was ordered by

    def __iter__(self) -> InOrder:
        return self

    def __next__(self) -> Request:
        return self._take()

    def _take(self) -> Request:
        queue = self._queue
        best: EntryHeap | None = None
        for heap in self._heaps:
            while heap.size():
                request = heap.head_payload()
                assert isinstance(request, Request)
                if request.stamp == heap.head_low() & _STAMP_MASK:
                    if request.count:
                        break
                    request.stamp = 0  # nothing left to place: it leaves the queue
                heap.pop()
                queue._entries -= 1
            if heap.size() and (best is None or heap.before(best)):
                best = heap
        if best is None:
            raise StopIteration
        self.usage = best.head_usage()
        request = best.pop()
        assert isinstance(request, Request)
        queue._entries -= 1
        request.stamp = 0  # out of the heap: any entry still there for it is stale
        queue._popped.append(request)
        return request

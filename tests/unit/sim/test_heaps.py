"""The compiled heaps (heaps.pyx, C arrays) pop in the order of their Python reference (heaps.py), and fail alike.

Under `make test` the package's `heaps` is the extension (test_compiled.py checks it); the reference is loaded
here from its file under another name, so both run in this process on the same operations.
"""

from __future__ import annotations

import gc
import importlib.machinery
import importlib.util
import math
import random
import weakref
from types import ModuleType
from typing import Any

import pytest

from emr_autoscaler_dev.sim import compiled, heaps


def _reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location("heaps_reference", compiled.HERE / "heaps.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REFERENCE = _reference()
BUILDS = [pytest.param(heaps, id="package"), pytest.param(REFERENCE, id="reference")]


def _event_run(module: Any, seed: int) -> list[tuple[object, ...]]:
    """What a random mix of pushes and pops sees: heads, lengths and payloads, with many equal times and kinds."""
    rng = random.Random(seed)
    queue = module.EventQueue()
    seen: list[tuple[object, ...]] = [("empty", queue.head_s(), len(queue))]
    for i in range(20_000):
        if rng.random() < 0.55 or not len(queue):
            queue.push(float(rng.randrange(50)) / 4, rng.randrange(5), ("payload", i))
        else:
            seen.append((queue.head_s(), queue.head_kind(), queue.pop(), len(queue)))
    while len(queue):
        seen.append((queue.head_s(), queue.head_kind(), queue.pop()))
    seen.append(("drained", queue.head_s(), len(queue)))
    return seen


def test_the_event_queues_pop_alike_by_time_then_kind_then_push_order() -> None:
    # GIVEN the same random pushes and pops, with ties in time and in kind
    for seed in range(3):
        # WHEN both builds run them
        built, reference = _event_run(heaps, seed), _event_run(REFERENCE, seed)
        # THEN every head, length and payload is the same
        assert built == reference
    # AND the reference order is (time, kind, push order): pushed out of order, popped in it
    queue = REFERENCE.EventQueue()
    for at_s, kind, name in ((2.0, 0, "c"), (1.0, 1, "b"), (1.0, 0, "a1"), (1.0, 0, "a2"), (3.0, 0, "d")):
        queue.push(at_s, kind, name)
    assert [queue.pop() for _ in range(5)] == ["a1", "a2", "b", "c", "d"]


class _Payload:
    """A request's stand-in: the entry is live while its stamp is the entry's."""

    def __init__(self, name: int, stamp: int) -> None:
        self.name = name
        self.stamp = stamp

    def __repr__(self) -> str:
        return f"payload {self.name}"


def _entry_run(module: Any, seed: int) -> list[object]:
    """What random pushes (repeated pairs too), pops, comparisons and retains on three heaps see."""
    rng = random.Random(seed)
    trio = [module.EntryHeap() for _ in range(3)]
    seen: list[object] = []
    for i in range(20_000):
        heap = rng.choice(trio)
        roll = rng.random()
        if roll < 0.5 or not heap.size():
            usage = rng.choice([0, 5, rng.randrange(-(10**12), 10**12), rng.randrange(1 << 40)])
            stamp = rng.randrange(4)
            heap.push(usage, rng.choice([stamp, (rng.randrange(1 << 22) << 40) + stamp]), _Payload(i, stamp))
        elif roll < 0.85:
            seen.append((heap.head_usage(), heap.head_low(), heap.head_payload().name, heap.pop().name))
        elif roll < 0.99:
            other = rng.choice(trio)
            if other.size():
                seen.append(heap.before(other))
        else:
            heap.head_payload().stamp = rng.randrange(4)  # its entry may go stale (or live again)
            seen.append(("kept", heap.retain_live(), heap.size()))
    for heap in trio:
        while heap.size():
            seen.append((heap.head_usage(), heap.head_low(), heap.pop().name))
    return seen


def test_the_entry_heaps_pop_alike_smallest_pair_first() -> None:
    # GIVEN random pushes of (usage, low) pairs, some repeated, pops, comparisons and retains
    for seed in range(3):
        # WHEN both builds run them, THEN they see the same heads, payloads, comparisons and sizes
        assert _entry_run(heaps, seed) == _entry_run(REFERENCE, seed)
    # AND the order is the pair's: usage first, then the low part, then the push order, whatever the push order
    heap = REFERENCE.EntryHeap()
    for usage, low, name in ((5, 1, "d"), (-3, 9, "a"), (5, 0, "c"), (0, 7, "b"), (5, 1, "e")):
        heap.push(usage, low, name)
    assert [heap.pop() for _ in range(5)] == ["a", "b", "c", "d", "e"]


def test_retain_keeps_only_the_live_entries_in_order() -> None:
    for module in (heaps, REFERENCE):
        # GIVEN entries whose stamps (low bits) are 1..9, each with a payload of that stamp
        heap = module.EntryHeap()
        payloads = {stamp: _Payload(stamp, stamp) for stamp in range(1, 10)}
        for stamp in range(9, 0, -1):
            heap.push(stamp % 3, (7 << 40) + stamp, payloads[stamp])
        # WHEN the even ones' payloads move on to other stamps (their entries go stale)
        for stamp in range(2, 10, 2):
            payloads[stamp].stamp = 100 + stamp
        kept = heap.retain_live()
        # THEN the stale entries are gone and the rest still pop in order
        popped = []
        while heap.size():
            popped.append(heap.pop().name)
        assert kept == 5
        assert popped == [3, 9, 1, 7, 5]


@pytest.mark.parametrize("module", BUILDS)
def test_empty_and_out_of_range_fail_clearly(module: Any) -> None:
    # GIVEN empty queues
    queue, heap = module.EventQueue(), module.EntryHeap()
    # THEN the next event time is infinite and nothing can be popped or read
    assert queue.head_s() == math.inf
    assert not len(queue)
    for call in (queue.pop, queue.head_kind, heap.pop, heap.head_low, heap.head_usage, heap.head_payload):
        with pytest.raises(IndexError):
            call()
    # AND a pair beyond the C range is refused, not wrapped around
    for usage, low in ((0, -1), (0, 1 << 63), (1 << 63, 0)):
        with pytest.raises(OverflowError):
            heap.push(usage, low, None)
    assert heap.size() == 0


@pytest.mark.parametrize("module", BUILDS)
@pytest.mark.parametrize("kind", ["EventQueue", "EntryHeap"])
def test_a_heap_in_a_reference_cycle_is_collected(module: Any, kind: str) -> None:
    # GIVEN an object that holds a heap whose item carries that object back (as a request holds its heap)
    class Holder:
        pass

    holder = Holder()
    holder.heap = heap = getattr(module, kind)()  # type: ignore[attr-defined]
    heap.push(1, 0, holder)
    alive = weakref.ref(holder)
    # WHEN the last outside reference goes and the collector runs
    del holder, heap
    gc.collect()
    # THEN the cycle is gone: the collector sees what the heap holds
    assert alive() is None


def test_the_compiled_heaps_refuse_misuse_instead_of_crashing() -> None:
    # GIVEN the compiled heaps (what `make test` builds and test_compiled.py checks is loaded)
    assert str(heaps.__file__).endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)), heaps.__file__
    heap = heaps.EntryHeap()
    heap.push(0, 1, None)
    # WHEN a heap is compared with nothing, THEN it says so instead of reading through a null pointer
    with pytest.raises(TypeError, match="not None"):
        heap.before(None)

    # GIVEN a payload whose stamp, when read, pushes onto the heap being compacted
    class Meddler:
        @property
        def stamp(self) -> int:
            heap.push(0, 2, None)
            return 1

    heap = heaps.EntryHeap()
    heap.push(0, 1, Meddler())
    # WHEN the heap compacts, THEN the push is refused, and the heap is left as it was, whole
    with pytest.raises(RuntimeError, match="retain_live"):
        heap.retain_live()
    assert heap.size() == 1
    assert isinstance(heap.pop(), Meddler)
    assert heap.size() == 0

"""The compiled heaps (heaps.pyx, C arrays) pop in the order of their Python reference (heaps.py), and fail alike.

Under `make test` the package's `heaps` is the extension (test_compiled.py checks it); the reference is loaded
here from its file under another name, so both run in this process on the same operations.
"""

from __future__ import annotations

import gc
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


def _entry_run(module: Any, seed: int) -> list[object]:
    """What random pushes, pops, comparisons and retains on three heaps see."""
    rng = random.Random(seed)
    trio = [module.EntryHeap() for _ in range(3)]
    seen: list[object] = []
    for _ in range(20_000):
        heap = rng.choice(trio)
        roll = rng.random()
        if roll < 0.5 or not heap.size():
            usage = rng.choice([0, rng.randrange(-(10**12), 10**12), rng.randrange(1 << 40)])
            heap.push(usage, rng.randrange(1 << 45))
        elif roll < 0.85:
            seen.append((heap.head_usage(), heap.head_low()))
            heap.pop()
        elif roll < 0.99:
            other = rng.choice(trio)
            if other.size():
                seen.append(heap.before(other))
        else:
            stamps = {rng.randrange(1 << 40) for _ in range(3)}
            stamps |= {heap.head_low() & ((1 << 40) - 1)}
            seen.append(("kept", heap.retain(stamps), heap.size()))
    for heap in trio:
        while heap.size():
            seen.append((heap.head_usage(), heap.head_low()))
            heap.pop()
    return seen


def test_the_entry_heaps_pop_alike_smallest_pair_first() -> None:
    # GIVEN random pushes of (usage, low) pairs with repeated usage, pops, comparisons and retains
    for seed in range(3):
        # WHEN both builds run them, THEN they see the same heads, comparisons and sizes
        assert _entry_run(heaps, seed) == _entry_run(REFERENCE, seed)
    # AND the order is the pair's: usage first, then the low part, whatever the push order
    heap = REFERENCE.EntryHeap()
    for usage, low in ((5, 1), (-3, 9), (5, 0), (0, 7)):
        heap.push(usage, low)
    popped = []
    while heap.size():
        popped.append((heap.head_usage(), heap.head_low()))
        heap.pop()
    assert popped == [(-3, 9), (0, 7), (5, 0), (5, 1)]


def test_retain_keeps_only_the_live_stamps_in_order() -> None:
    for module in (heaps, REFERENCE):
        # GIVEN entries whose stamps (low bits) are 1..9
        heap = module.EntryHeap()
        for stamp in range(9, 0, -1):
            heap.push(stamp % 3, (7 << 40) + stamp)
        # WHEN only the odd stamps stay live
        kept = heap.retain({1, 3, 5, 7, 9})
        # THEN the even ones are gone and the rest still pop in order
        popped = []
        while heap.size():
            popped.append(heap.head_low() & ((1 << 40) - 1))
            heap.pop()
        assert kept == 5
        assert popped == [3, 9, 1, 7, 5]


@pytest.mark.parametrize("module", BUILDS)
def test_empty_and_out_of_range_fail_clearly(module: Any) -> None:
    # GIVEN empty queues
    queue, heap = module.EventQueue(), module.EntryHeap()
    # THEN the next event time is infinite and nothing can be popped or read
    assert queue.head_s() == math.inf
    assert not len(queue)
    for call in (queue.pop, queue.head_kind, heap.pop, heap.head_low, heap.head_usage):
        with pytest.raises(IndexError):
            call()
    # AND a pair beyond the C range is refused, not wrapped around
    for usage, low in ((0, -1), (0, 1 << 63), (1 << 63, 0)):
        with pytest.raises(OverflowError):
            heap.push(usage, low)
    assert heap.size() == 0


@pytest.mark.parametrize("module", BUILDS)
def test_an_event_queue_in_a_reference_cycle_is_collected(module: Any) -> None:
    # GIVEN an object that holds a queue whose event carries that object back (as a cluster's nodes would)
    class Holder:
        pass

    holder = Holder()
    holder.queue = module.EventQueue()  # type: ignore[attr-defined]
    holder.queue.push(1.0, 0, holder)  # type: ignore[attr-defined]
    alive = weakref.ref(holder)
    # WHEN the last outside reference goes and the collector runs
    del holder
    gc.collect()
    # THEN the cycle is gone: the collector sees what the queue holds
    assert alive() is None

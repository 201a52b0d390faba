# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The compiled build of heaps.py: the same classes, methods and order on C arrays (see heaps.py and compiled.py).

A push or a pop allocates no Python object and compares C numbers. The payloads stay in a Python list (the garbage
collector must see them); a heap's items hold their slots in that list.
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc

STAMP_BITS = 40
cdef long long _STAMP_MASK = (<long long>1 << 40) - 1  # STAMP_BITS of them
cdef Py_ssize_t _FIRST_CAPACITY = 64

ctypedef fused Slot:
    EventSlot
    EntryPair


cdef inline bint _before(Slot* a, Slot* b) noexcept nogil:
    """Whether `a` comes first: events by (time, kind, push order), entries by (usage, low, push order)."""
    if Slot is EventSlot:
        if a.at_s != b.at_s:
            return a.at_s < b.at_s
        if a.kind != b.kind:
            return a.kind < b.kind
        return a.seq < b.seq
    else:
        if a.usage != b.usage:
            return a.usage < b.usage
        if a.low != b.low:
            return a.low < b.low
        return a.seq < b.seq


cdef inline void _sift_up(Slot* heap, Py_ssize_t i, Slot item) noexcept nogil:
    """Put `item` in the free place `i` or above it, moving down the parents that come after it."""
    cdef Py_ssize_t parent
    while i > 0:
        parent = (i - 1) >> 1
        if not _before(&item, &heap[parent]):
            break
        heap[i] = heap[parent]
        i = parent
    heap[i] = item


cdef inline void _sift_down(Slot* heap, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    """Move the item at `i` down below the children that come before it (the first `n` places are the heap)."""
    cdef Py_ssize_t child
    cdef Slot item = heap[i]
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and _before(&heap[child + 1], &heap[child]):
            child += 1
        if not _before(&heap[child], &item):
            break
        heap[i] = heap[child]
        i = child
    heap[i] = item


cdef inline void _drop_top(Slot* heap, Py_ssize_t size) noexcept nogil:
    """Remove the top of a heap of `size` items (the caller's count drops by one): the last item refills it."""
    if size > 1:
        heap[0] = heap[size - 1]
        _sift_down(heap, 0, size - 1)


cdef void* _first_array(size_t item_size) except NULL:
    """A new array of _FIRST_CAPACITY items, or MemoryError."""
    cdef void* array = PyMem_Malloc(_FIRST_CAPACITY * item_size)
    if array == NULL:
        raise MemoryError()
    return array


cdef void* _grown(void* array, Py_ssize_t* capacity, size_t item_size) except NULL:
    """The array reallocated to twice its capacity (updated), or MemoryError."""
    cdef void* grown = PyMem_Realloc(array, 2 * capacity[0] * item_size)
    if grown == NULL:
        raise MemoryError()
    capacity[0] *= 2
    return grown


cdef class _Payloads:
    """_Payloads keeps a heap's payload objects in numbered slots, reused once taken."""

    def __cinit__(self):
        self._items = []
        self._free = <Py_ssize_t*>_first_array(sizeof(Py_ssize_t))
        self._free_capacity = _FIRST_CAPACITY
        self._free_n = 0

    def __dealloc__(self):
        PyMem_Free(self._free)

    cdef Py_ssize_t keep(self, object payload) except -1:
        cdef Py_ssize_t slot
        if self._free_n:
            self._free_n -= 1
            slot = self._free[self._free_n]
            self._items[slot] = payload
            return slot
        slot = len(self._items)
        if slot == self._free_capacity:  # every slot may be free at once
            self._free = <Py_ssize_t*>_grown(self._free, &self._free_capacity, sizeof(Py_ssize_t))
        self._items.append(payload)
        return slot

    cdef object take(self, Py_ssize_t slot):
        payload = self._items[slot]
        self._items[slot] = None
        self._free[self._free_n] = slot
        self._free_n += 1
        return payload


cdef class EventQueue:
    """EventQueue holds timed events in (time s, kind, order pushed) order; each carries a payload object."""

    def __cinit__(self):
        self._heap = <EventSlot*>_first_array(sizeof(EventSlot))
        self._capacity = _FIRST_CAPACITY
        self._size = 0
        self._seq = 0
        self._payloads = _Payloads()

    def __dealloc__(self):
        PyMem_Free(self._heap)

    def __len__(self):
        return self._size

    cpdef void push(self, double at_s, long kind, object payload):
        """Push adds an event at `at_s`; among events at the same time, lower kinds first, then the first pushed."""
        cdef EventSlot item
        if self._size == self._capacity:
            self._heap = <EventSlot*>_grown(self._heap, &self._capacity, sizeof(EventSlot))
        self._seq += 1
        item.at_s = at_s
        item.kind = kind
        item.seq = self._seq
        item.slot = self._payloads.keep(payload)
        self._size += 1
        _sift_up(self._heap, self._size - 1, item)

    cpdef double head_s(self):
        """Head_s is the next event's time (s), infinite when none is queued."""
        if self._size == 0:
            return float("inf")
        return self._heap[0].at_s

    cpdef long head_kind(self):
        """Head_kind is the next event's kind (the queue must not be empty)."""
        if self._size == 0:
            raise IndexError("no event is queued")
        return self._heap[0].kind

    cpdef object pop(self):
        """Pop removes the next event and returns its payload (the queue must not be empty)."""
        if self._size == 0:
            raise IndexError("no event is queued")
        payload = self._payloads.take(self._heap[0].slot)
        _drop_top(self._heap, self._size)
        self._size -= 1
        return payload


cdef class EntryHeap:
    """EntryHeap holds a task queue's entries, each a (usage, low) pair of integers and a payload, smallest pair first."""

    def __cinit__(self):
        self._heap = <EntryPair*>_first_array(sizeof(EntryPair))
        self._capacity = _FIRST_CAPACITY
        self._size = 0
        self._seq = 0
        self._compacting = False
        self._payloads = _Payloads()

    def __dealloc__(self):
        PyMem_Free(self._heap)

    def __len__(self):
        return self._size

    cpdef Py_ssize_t size(self):
        """Size is how many entries the heap holds, live or stale."""
        return self._size

    cpdef void push(self, long long usage, long long low, object payload):
        """Push adds an entry."""
        cdef EntryPair item
        if self._compacting:
            raise RuntimeError("an EntryHeap takes no entry while retain_live() reads its payloads")
        if low < 0:
            raise OverflowError(f"an entry ({usage}, {low}) is outside the heap's C range")
        if self._size == self._capacity:
            self._heap = <EntryPair*>_grown(self._heap, &self._capacity, sizeof(EntryPair))
        self._seq += 1
        item.usage = usage
        item.low = low
        item.seq = self._seq
        item.slot = self._payloads.keep(payload)
        self._size += 1
        _sift_up(self._heap, self._size - 1, item)

    cdef void _check(self) except *:
        if self._size == 0:
            raise IndexError("the heap is empty")

    cpdef long long head_usage(self):
        """Head_usage is the smallest entry's usage (the heap must not be empty)."""
        self._check()
        return self._heap[0].usage

    cpdef long long head_low(self):
        """Head_low is the smallest entry's low part (the heap must not be empty)."""
        self._check()
        return self._heap[0].low

    cpdef object head_payload(self):
        """Head_payload is the smallest entry's payload (the heap must not be empty)."""
        self._check()
        return self._payloads._items[self._heap[0].slot]

    cpdef bint before(self, EntryHeap other):
        """Before is true when this heap's smallest pair is smaller than `other`'s (neither may be empty)."""
        if other is None:
            raise TypeError("before() compares with another EntryHeap, not None")
        self._check()
        other._check()
        if self._heap[0].usage != other._heap[0].usage:
            return self._heap[0].usage < other._heap[0].usage
        return self._heap[0].low < other._heap[0].low

    cpdef object pop(self):
        """Pop drops the smallest entry and returns its payload (the heap must not be empty)."""
        self._check()
        payload = self._payloads.take(self._heap[0].slot)
        _drop_top(self._heap, self._size)
        self._size -= 1
        return payload

    cpdef Py_ssize_t retain_live(self):
        """Retain_live drops the stale entries (their payload's `stamp` is no longer theirs), returns how many stay."""
        cdef Py_ssize_t i, kept = 0, n = self._size
        # First read every stamp, changing nothing: reading one may run code (a property) that fails or pushes.
        live = []
        self._compacting = True
        try:
            for i in range(n):
                stamp = getattr(self._payloads._items[self._heap[i].slot], "stamp", None)
                live.append(stamp == self._heap[i].low & _STAMP_MASK)
        finally:
            self._compacting = False
        # Then compact; the dropped payloads are released once the heap is whole again.
        dropped = []
        for i in range(n):
            if live[i]:
                self._heap[kept] = self._heap[i]
                kept += 1
            else:
                dropped.append(self._payloads.take(self._heap[i].slot))
        self._size = kept
        i = kept // 2 - 1
        while i >= 0:  # heapify: sift each parent down, the last first
            _sift_down(self._heap, i, kept)
            i -= 1
        return kept

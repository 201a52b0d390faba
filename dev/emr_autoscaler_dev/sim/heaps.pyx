# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The compiled build of heaps.py: the same classes, methods and order on C arrays (see heaps.py and compiled.py).

A push or a pop allocates no Python object and compares C numbers. The event payloads stay in a Python list (the
garbage collector must see them); the heap itself holds their slots in that list.
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc

STAMP_BITS = 40
cdef long long _STAMP_MASK = (<long long>1 << 40) - 1  # STAMP_BITS of them
cdef Py_ssize_t _FIRST_CAPACITY = 64


ctypedef fused Slot:
    EventSlot
    EntryPair


cdef inline bint _before(Slot* a, Slot* b) noexcept nogil:
    """Whether `a` comes first: events by (time, kind, push order), entries by (usage, low)."""
    if Slot is EventSlot:
        if a.at_s != b.at_s:
            return a.at_s < b.at_s
        if a.kind != b.kind:
            return a.kind < b.kind
        return a.seq < b.seq
    else:
        if a.usage != b.usage:
            return a.usage < b.usage
        return a.low < b.low


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


cdef class EventQueue:
    """EventQueue holds timed events in (time s, kind, order pushed) order; each carries a payload object."""

    def __cinit__(self):
        self._heap = <EventSlot*>PyMem_Malloc(_FIRST_CAPACITY * sizeof(EventSlot))
        self._free = <Py_ssize_t*>PyMem_Malloc(_FIRST_CAPACITY * sizeof(Py_ssize_t))
        if self._heap == NULL or self._free == NULL:
            raise MemoryError()
        self._capacity = _FIRST_CAPACITY
        self._size = 0
        self._free_n = 0
        self._seq = 0
        self._payloads = []

    def __dealloc__(self):
        PyMem_Free(self._heap)
        PyMem_Free(self._free)

    def __len__(self):
        return self._size

    cpdef void push(self, double at_s, long kind, object payload):
        """Push adds an event at `at_s`; among events at the same time, lower kinds first, then the first pushed."""
        cdef Py_ssize_t slot
        cdef EventSlot item
        cdef EventSlot* grown_heap
        cdef Py_ssize_t* grown_free
        if self._size == self._capacity:
            grown_heap = <EventSlot*>PyMem_Realloc(self._heap, 2 * self._capacity * sizeof(EventSlot))
            if grown_heap == NULL:
                raise MemoryError()
            self._heap = grown_heap
            grown_free = <Py_ssize_t*>PyMem_Realloc(self._free, 2 * self._capacity * sizeof(Py_ssize_t))
            if grown_free == NULL:
                raise MemoryError()
            self._free = grown_free
            self._capacity *= 2
        if self._free_n:
            self._free_n -= 1
            slot = self._free[self._free_n]
            self._payloads[slot] = payload
        else:
            slot = len(self._payloads)
            self._payloads.append(payload)
        self._seq += 1
        item.at_s = at_s
        item.kind = kind
        item.seq = self._seq
        item.slot = slot
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
        cdef Py_ssize_t slot
        cdef EventSlot* heap = self._heap
        if self._size == 0:
            raise IndexError("no event is queued")
        slot = heap[0].slot
        payload = self._payloads[slot]
        self._payloads[slot] = None
        self._free[self._free_n] = slot
        self._free_n += 1
        self._size -= 1
        if self._size:
            heap[0] = heap[self._size]
            _sift_down(heap, 0, self._size)
        return payload


cdef class EntryHeap:
    """EntryHeap holds a task queue's entries, each a (usage, low) pair of integers, smallest pair first."""

    def __cinit__(self):
        self._heap = <EntryPair*>PyMem_Malloc(_FIRST_CAPACITY * sizeof(EntryPair))
        if self._heap == NULL:
            raise MemoryError()
        self._capacity = _FIRST_CAPACITY
        self._size = 0

    def __dealloc__(self):
        PyMem_Free(self._heap)

    def __len__(self):
        return self._size

    cpdef Py_ssize_t size(self):
        """Size is how many entries the heap holds, live or stale."""
        return self._size

    cpdef void push(self, long long usage, long long low):
        """Push adds an entry."""
        cdef EntryPair item
        cdef EntryPair* grown
        if low < 0:
            raise OverflowError(f"an entry ({usage}, {low}) is outside the heap's C range")
        if self._size == self._capacity:
            grown = <EntryPair*>PyMem_Realloc(self._heap, 2 * self._capacity * sizeof(EntryPair))
            if grown == NULL:
                raise MemoryError()
            self._heap = grown
            self._capacity *= 2
        item.usage = usage
        item.low = low
        self._size += 1
        _sift_up(self._heap, self._size - 1, item)

    cpdef long long head_usage(self):
        """Head_usage is the smallest entry's usage (the heap must not be empty)."""
        if self._size == 0:
            raise IndexError("the heap is empty")
        return self._heap[0].usage

    cpdef long long head_low(self):
        """Head_low is the smallest entry's low part (the heap must not be empty)."""
        if self._size == 0:
            raise IndexError("the heap is empty")
        return self._heap[0].low

    cpdef bint before(self, EntryHeap other):
        """Before is true when this heap's smallest entry is smaller than `other`'s (neither may be empty)."""
        if self._size == 0 or other._size == 0:
            raise IndexError("the heap is empty")
        return _before(&self._heap[0], &other._heap[0])

    cpdef void pop(self):
        """Pop drops the smallest entry (the heap must not be empty)."""
        cdef EntryPair* heap = self._heap
        if self._size == 0:
            raise IndexError("the heap is empty")
        self._size -= 1
        if self._size:
            heap[0] = heap[self._size]
            _sift_down(heap, 0, self._size)

    cpdef Py_ssize_t retain(self, object stamps):
        """Retain keeps the entries whose stamp is in `stamps`, drops the rest, and returns how many it kept."""
        cdef Py_ssize_t i, kept = 0, start
        cdef EntryPair* heap = self._heap
        for i in range(self._size):
            if (heap[i].low & _STAMP_MASK) in stamps:
                heap[kept] = heap[i]
                kept += 1
        self._size = kept
        # Heapify: sift each parent down, last first.
        start = kept // 2 - 1
        while start >= 0:
            _sift_down(heap, start, kept)
            start -= 1
        return kept


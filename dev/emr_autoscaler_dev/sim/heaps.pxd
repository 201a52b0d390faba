# C declarations of heaps.pyx, the compiled build of heaps.py (see compiled.py): the other modules cimport these, so
# their calls are C calls.
cimport cython

cdef struct EventSlot:
    double at_s
    long kind
    long seq
    Py_ssize_t slot  # where its payload waits in the queue's _Payloads

cdef struct EntryPair:
    long long usage
    long long low
    long seq
    Py_ssize_t slot

@cython.final
cdef class _Payloads:
    cdef list _items  # a Python list, so the garbage collector sees what a heap holds
    cdef Py_ssize_t* _free  # the slots free again
    cdef Py_ssize_t _free_n
    cdef Py_ssize_t _free_capacity

    cdef Py_ssize_t keep(self, object payload) except -1
    cdef object take(self, Py_ssize_t slot)

@cython.final
cdef class EventQueue:
    cdef EventSlot* _heap
    cdef Py_ssize_t _size
    cdef Py_ssize_t _capacity
    cdef long _seq
    cdef _Payloads _payloads

    cpdef void push(self, double at_s, long kind, object payload)
    cpdef double head_s(self)
    cpdef long head_kind(self)
    cpdef object pop(self)

@cython.final
cdef class EntryHeap:
    cdef EntryPair* _heap
    cdef bint _compacting  # retain_live() is reading the payloads' stamps: no push meanwhile
    cdef Py_ssize_t _size
    cdef Py_ssize_t _capacity
    cdef long _seq
    cdef _Payloads _payloads

    cdef void _check(self) except *
    cpdef Py_ssize_t size(self)
    cpdef void push(self, long long usage, long long low, object payload)
    cpdef long long head_usage(self)
    cpdef long long head_low(self)
    cpdef object head_payload(self)
    cpdef bint before(self, EntryHeap other)
    cpdef object pop(self)
    cpdef Py_ssize_t retain_live(self)

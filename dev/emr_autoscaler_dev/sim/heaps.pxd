# C declarations of heaps.pyx, the compiled build of heaps.py (see compiled.py): the other modules cimport these, so
# their calls are C calls.
cimport cython

cdef struct EventSlot:
    double at_s
    long kind
    long seq
    Py_ssize_t slot  # where its payload waits in EventQueue._payloads

cdef struct EntryPair:
    long long usage
    long long low

@cython.final
cdef class EventQueue:
    cdef EventSlot* _heap
    cdef Py_ssize_t* _free  # the payload slots free again
    cdef Py_ssize_t _size
    cdef Py_ssize_t _capacity
    cdef Py_ssize_t _free_n
    cdef long _seq
    cdef list _payloads  # a Python list, so the garbage collector sees what the queue holds

    cpdef void push(self, double at_s, long kind, object payload)
    cpdef double head_s(self)
    cpdef long head_kind(self)
    cpdef object pop(self)

@cython.final
cdef class EntryHeap:
    cdef EntryPair* _heap
    cdef Py_ssize_t _size
    cdef Py_ssize_t _capacity

    cpdef Py_ssize_t size(self)
    cpdef void push(self, long long usage, long long low)
    cpdef long long head_usage(self)
    cpdef long long head_low(self)
    cpdef bint before(self, EntryHeap other)
    cpdef void pop(self)
    cpdef Py_ssize_t retain(self, object stamps)

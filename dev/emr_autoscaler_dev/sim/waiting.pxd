# C types for waiting.py when Cython compiles it (see compiled.py); the source stays plain Python.
cimport cython
from emr_autoscaler_dev.sim.heaps cimport EntryHeap

# Module-level names the hot paths read: C globals, not dictionary lookups.
cdef object inf
cdef long long _STAMP_MASK
cdef long _PHASE_UNIT

cdef class Request:
    cdef public long count
    cdef public double duration_s
    cdef public object job
    cdef public object job_index  # a dictionary key: kept a Python int, not boxed again at each use
    cdef public tuple key
    cdef public long memory_mb
    cdef public long phase
    cdef public long stamp
    cdef public long vcores
    cdef public EntryHeap heap

cdef class InOrder

cdef class TaskQueue:
    cdef public dict _usage
    cdef public bint _fair
    cdef public dict _heaps
    cdef public dict _by_job
    cdef public long _stamps
    cdef public list _popped
    cdef public set _touched
    cdef public long _entries
    cdef public long _waiting
    cdef public bint _passing
    cdef public list _later

    @cython.locals(stamp=long, heap=EntryHeap)
    cpdef void _enter(self, Request request)

    @cython.locals(heap=EntryHeap)
    cpdef void add(self, Request request)

    @cython.locals(request=Request)
    cpdef void usage_changed(self, object job_index)

    cpdef void placed(self, object job_index)

    cpdef InOrder in_order(self, long most_mb, long most_vcores)

    @cython.locals(request=Request, heap=EntryHeap)
    cpdef void settle(self)

cdef class InOrder:
    cdef TaskQueue _queue
    cdef list _heaps
    cdef public long long usage

    @cython.locals(queue=TaskQueue, best=EntryHeap, heap=EntryHeap, request=Request)
    cpdef Request _take(self)

cpdef long long entry_low(long job_index, long phase, long stamp)

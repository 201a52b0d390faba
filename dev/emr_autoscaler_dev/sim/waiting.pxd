# C types for waiting.py when Cython compiles it (see compiled.py); the source stays plain Python.
cimport cython

cdef class TaskQueue:
    cdef public dict _usage
    cdef public bint _fair
    cdef public dict _heaps
    cdef public dict _by_job
    cdef public long _stamps
    cdef public list _popped
    cdef public set _touched
    cdef public long _entries
    cdef public long _live
    cdef public bint _passing
    cdef public list _later

    @cython.locals(stamp=long, usage=long, heap=list)
    cpdef void _enter(self, object request)

    cpdef void add(self, object request)

    cpdef void usage_changed(self, long job_index)

    cpdef void placed(self, long job_index)

    cpdef void settle(self)

cdef class _InOrder:
    cdef TaskQueue _queue
    cdef list _heaps

# C types for cluster.py when Cython compiles it (see compiled.py): the source stays plain Python, this file says
# which attributes are C fields and which locals of the hot methods are C numbers. Every attribute stays `public`:
# the policies, the engine and the tests read them as before. Counts and memory are C longs (MB and vcores are far
# below 2**63), times are doubles as in Python.
cimport cython
from emr_autoscaler_dev.sim.heaps cimport EventQueue
from emr_autoscaler_dev.sim.waiting cimport InOrder, Request, TaskQueue

# Module-level names the hot paths read: C globals, not dictionary lookups.
cdef object _RUNNING, _DRAINING, _BY_KEY, _BY_AGE
cdef long _COMPLETE, _READY, _DEADLINE, _INTERRUPT, _WARNING

cdef double inf

cdef class Node:
    cdef public set batches
    cdef public double deadline_s
    cdef public long free_mb
    cdef public long free_vcores
    cdef public object gone_s
    cdef public SimGroup group
    cdef public long memory_mb
    cdef public long node_id
    cdef public long order
    cdef public double requested_s
    cdef public object state
    cdef public long vcores

cdef class Batch:
    cdef public bint alive
    cdef public long count
    cdef public double end_s
    cdef public object job
    cdef public object job_index  # a dictionary key: kept a Python int, not boxed again at each use
    cdef public long memory_mb
    cdef public Node node
    cdef public long phase
    cdef public long vcores

cdef class _Merged:
    cdef InOrder _tasks
    cdef object _am_entries
    cdef tuple _am
    cdef Request _task
    cdef long long _task_usage
    cdef bint _started
    cdef bint _next_am
    cdef bint _next_task

cdef class SimGroup:
    cdef public str group_id
    cdef public str instance_type
    cdef public str market
    cdef public str name
    cdef public list nodes
    cdef public long requested
    cdef public object role

cdef class SimCluster:
    cdef public object spec
    cdef public tuple min_container
    cdef public long _min_mb
    cdef public long _min_vcores
    cdef public bint _fair
    cdef public double _max_am_share
    cdef public bint _am_core_only
    cdef public object capacity
    cdef public object rng
    cdef public SimGroup core
    cdef public SimGroup task
    cdef public object task_od
    cdef public tuple groups
    cdef public long interrupted_nodes
    cdef public list warnings
    cdef public list nodes
    cdef public list accepting
    cdef public EventQueue events
    cdef public list pending
    cdef public list pending_am
    cdef public long allocated_mb
    cdef public long am_mb
    cdef public long am_vcores
    cdef public long allocated_vcores
    cdef public long containers_allocated
    cdef public long pending_mb
    cdef public long pending_vcores
    cdef public long containers_pending
    cdef public long total_mb
    cdef public long total_vcores
    cdef public long active_nodes
    cdef public long billed_nodes
    cdef public long peak_nodes
    cdef public long apps_pending
    cdef public long apps_running
    cdef public bint dirty
    cdef public bint requeued
    cdef public set _grown
    cdef public bint _asked
    cdef public long _room_mb
    cdef public set _roomy_nodes
    cdef public object _joined
    cdef public set started
    cdef public dict outstanding
    cdef public dict job_mb
    cdef public TaskQueue tasks
    cdef public dict _am_sizes
    cdef public set _reasked
    cdef public dict finished_s
    cdef public dict am_batches
    cdef public set reducing
    cdef public long killed_containers
    cdef public long initial_nodes

    cpdef void _push(self, double at_s, long kind, object payload)

    @cython.locals(node=Node, before_mb=long, mem=long, vc=long, phase=long, placed=long, want=long, fit=long, min_mb=long, min_vcores=long, request=Request, batch=Batch, end_s=double, emptied=bint, placed_any=bint, filled=bint, capped=bint, core_only=bint)
    cpdef tuple _place(self, object order, list nodes, double now_s, long share)

    @cython.locals(node=Node)
    cpdef void _release(self, Batch batch)

    @cython.locals(node=Node, left=long)
    cpdef void _complete(self, Batch batch, double now_s)

    @cython.locals(at_s=double, kind=long, events=EventQueue)
    cpdef void advance(self, double now_s)

    @cython.locals(node=Node, r=Request, ams=long, candidates=long, share=long, min_mb=long, most_mb=long, most_vcores=long, waiting=long, fair=bint, placed_any=bint, capped=bint)
    cpdef void allocate(self, double now_s)

    cpdef bint _roomy(self, Node node)

    @cython.locals(mem=long, vc=long, room=double, fit=long, first=Request)
    cpdef long _am_limit(self)

    cpdef bint _am_over_share(self, long mem, long vc)

    cpdef object _in_order(self, TaskQueue tasks, long ams, long most_mb, long most_vcores)

    @cython.locals(mb=long, vc=long, n=long)
    cpdef bint _ams_may_fit(self, long ams, long most_mb, long most_vcores)

    cpdef void _node_gone(self, Node node, double now_s)

    cpdef void _queue(self, Request request)

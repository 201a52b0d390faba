# C types for engine.py when Cython compiles it (see compiled.py); the source stays plain Python.
cimport cython
from emr_autoscaler_dev.sim.cluster cimport SimCluster

@cython.locals(t=double, now_s=double, next_event=double, next_arrival=double, next_eval_s=double, next_sample_s=double, next_progress_s=double, interval_s=double, pending_integral=double, next_job=long, total_jobs=long, actions=long, inf=double, last_submit_s=double, node_mb=double, times=list, billed=list, capacity=list, demand=list)
cpdef tuple _replay(SimCluster cluster, object jobs, object policy, object feed, double limit_s, object until_s, object progress)

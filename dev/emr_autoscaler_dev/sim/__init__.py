"""Trace-driven simulator of an EMR cluster under YARN load, driving the unchanged core (see sim/README)."""

from emr_autoscaler_dev.sim import compiled as _compiled

# The scheduler's modules run compiled when built and current, else as Python (see compiled.py).
_compiled.select()

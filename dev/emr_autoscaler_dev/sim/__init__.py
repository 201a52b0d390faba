"""Trace-driven simulator of an EMR cluster under YARN load, driving the unchanged core (see sim/README)."""

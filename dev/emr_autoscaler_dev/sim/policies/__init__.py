"""Scaling policies under simulation: ours (the core, unchanged) and the baselines it is compared with."""

"""EMR Autoscaler: an event-driven autopilot for Amazon EMR (see README.md)."""

__version__ = "0.1.0"

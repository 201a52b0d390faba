"""Powertools Tracer, only when tracing is on (POWERTOOLS_TRACE_DISABLED unset or false)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from emr_autoscaler.adapters.powertools.logging import SERVICE

_F = TypeVar("_F", bound=Callable[..., Any])


class _NoTracer:
    """_NoTracer stands in for Powertools' Tracer when tracing is off: the X-Ray SDK it would import costs about
    150-180 ms of every cold start, for traces nobody records."""

    def capture_lambda_handler(self, handler: _F) -> _F:
        """Capture_lambda_handler returns the handler unchanged."""
        return handler

    def capture_method(self, method: _F) -> _F:
        """Capture_method returns the method unchanged."""
        return method


def _tracer() -> Any:
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() in ("1", "true"):
        return _NoTracer()
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)


tracer = _tracer()

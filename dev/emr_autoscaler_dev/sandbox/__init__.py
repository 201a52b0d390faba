"""Local stand-ins for what the autoscaler talks to: AWS (moto server) and the YARN ResourceManager.

`from emr_autoscaler_dev.sandbox import Sandbox` is the entry point (the README shows it). It is loaded on first use
(PEP 562), so importing a helper module beside it (yarn, template, sink, provision) does not import moto.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emr_autoscaler_dev.sandbox.sandbox import Invocation, Sandbox, SandboxError

__all__ = ["Invocation", "Sandbox", "SandboxError"]


def __getattr__(name: str) -> Any:
    """__getattr__ loads the Sandbox's module the first time one of its names is asked for."""
    if name in __all__:
        return getattr(importlib.import_module("emr_autoscaler_dev.sandbox.sandbox"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

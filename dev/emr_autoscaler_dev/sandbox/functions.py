"""The template's functions as the sandbox wires them: each one's handler file, environment and triggers.

The provisioner fills them from template.yaml; the runtime calls them; the router and the clock feed them events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType


class SandboxError(RuntimeError):
    """SandboxError: the sandbox cannot run the template as asked (the message names the resource)."""


@dataclass
class EventSource:
    """EventSource is one trigger of a function, as the template declares it.

    For an SQS event source: `batch_size`, `maximum_concurrency` (ScalingConfig; 0 when not set),
    `visibility_timeout_s` of its queue, `fifo`, and `dead_letter_url` the queue's redrive target.
    """

    name: str
    kind: str
    every_min: int = 0
    queue_url: str = ""
    dead_letter_url: str | None = None
    batch_size: int = 10
    maximum_concurrency: int = 0
    visibility_timeout_s: int = 30
    fifo: bool = False


@dataclass
class SandboxFunction:
    """SandboxFunction is a template function: its handler file, resolved environment and triggers."""

    logical_id: str
    path: Path
    handler: str
    environment: dict[str, str]
    sources: list[EventSource] = field(default_factory=list)
    on_failure_url: str | None = None
    module: ModuleType | None = None

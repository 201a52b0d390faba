"""ConfigSource: the port every job reads its configuration through."""

from __future__ import annotations

from typing import Protocol

from emr_autoscaler.kernel.config.document import ConfigDocument


class ConfigSource(Protocol):
    """ConfigSource returns the configuration document in force (the last valid one)."""

    def current(self) -> ConfigDocument:
        """Current returns the document in force; raises ConfigInvalidError when no valid one was ever read."""
        ...

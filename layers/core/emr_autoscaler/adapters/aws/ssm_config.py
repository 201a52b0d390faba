"""SsmConfigSource: the ConfigSource port on an SSM parameter read through Powertools Parameters.

The parameter is cached for at most `max_age_s` (≤ 60 s), so an edit takes effect within a minute with no deploy.
A document that fails validation is refused: the last valid one stays in force, and the refusal is reported
once per distinct bad document (log line, `ConfigInvalid` metric, and the `on_invalid` callback).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

from emr_autoscaler.kernel.config.document import ConfigDocument, ConfigInvalidError, parse_config_text
from emr_autoscaler.kernel.events import AppReason

logger = logging.getLogger(__name__)


class SsmConfigSource:
    """SsmConfigSource returns the configuration in force, read from SSM Parameter Store."""

    def __init__(
        self,
        provider: Any,
        parameter_name: str,
        max_age_s: int = 60,
        on_invalid: Callable[[str], None] | None = None,
    ) -> None:
        """`provider` is a Powertools SSMProvider (or anything with `get(name, max_age=...) -> str`)."""
        self._provider = provider
        self._name = parameter_name
        self._max_age_s = max_age_s
        self._on_invalid = on_invalid
        self._last_good: ConfigDocument | None = None
        self._last_good_digest: str | None = None
        self._reported_digest: str | None = None

    def current(self) -> ConfigDocument:
        """Current returns the document in force; ConfigInvalidError if no valid one was ever read."""
        try:
            text = self._provider.get(self._name, max_age=self._max_age_s)
        except Exception as error:
            if self._last_good is not None:
                logger.warning("configuration read failed, keeping the last good one", extra={"error": str(error)})
                return self._last_good
            raise ConfigInvalidError(f"cannot read configuration parameter {self._name}: {error}") from error
        text = str(text)
        digest = hashlib.sha256(text.encode()).hexdigest()
        if digest == self._last_good_digest and self._last_good is not None:
            return self._last_good
        try:
            document = parse_config_text(text)
        except ConfigInvalidError as error:
            message = f"configuration {self._name} refused: {error}"
            if digest != self._reported_digest:
                self._reported_digest = digest
                logger.error(message, extra={"reason_code": AppReason.CONFIG_INVALID.value})
                if self._on_invalid is not None:
                    self._on_invalid(message)
            if self._last_good is None:
                raise ConfigInvalidError(message) from None
            return self._last_good
        self._last_good, self._last_good_digest = document, digest
        return document

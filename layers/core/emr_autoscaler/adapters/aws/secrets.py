"""WebhookSecrets: webhook URLs and signing secrets read from Secrets Manager through Powertools Parameters.

A secret holds either the webhook URL as plain text, or a JSON document `{"url": ..., "signing_secret": ...}`
(the generic webhook needs both). Values are cached for `max_age_s` seconds per warm container, never logged,
and never part of an error message (only the secret's name is).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


class SecretUnavailableError(RuntimeError):
    """SecretUnavailableError: the secret could not be read or has the wrong shape (message names it, not its value)."""


@dataclass(frozen=True)
class WebhookSecret:
    """WebhookSecret is a webhook's URL and, for signed webhooks, the HMAC key. Its repr hides both."""

    url: str = field(repr=False)
    signing_secret: str | None = field(default=None, repr=False)


class WebhookSecrets:
    """WebhookSecrets reads webhook secrets by name (`provider` is a Powertools SecretsProvider)."""

    def __init__(self, provider: Any, max_age_s: int = 300) -> None:
        self._provider = provider
        self._max_age_s = max_age_s

    def webhook(self, name: str) -> WebhookSecret:
        """Webhook returns the secret `name` as a WebhookSecret; raises SecretUnavailableError."""
        try:
            value = self._provider.get(name, max_age=self._max_age_s)
        except Exception as error:
            code = getattr(getattr(error, "__cause__", None), "response", {}).get("Error", {}).get("Code")
            raise SecretUnavailableError(
                f"secret {name!r} could not be read ({code or type(error).__name__})"
            ) from None
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        return parse_webhook_secret(name, str(value))


def parse_webhook_secret(name: str, value: str) -> WebhookSecret:
    """Parse_webhook_secret reads a plain URL or `{"url", "signing_secret"}`; raises SecretUnavailableError."""
    text = value.strip()
    if not text.startswith("{"):
        if not text:
            raise SecretUnavailableError(f"secret {name!r} is empty")
        return WebhookSecret(url=text)
    try:
        document = json.loads(text)
    except ValueError:
        raise SecretUnavailableError(f"secret {name!r} is not valid JSON") from None
    url = document.get("url") if isinstance(document, dict) else None
    signing = document.get("signing_secret") if isinstance(document, dict) else None
    if not isinstance(url, str) or not url:
        raise SecretUnavailableError(f"secret {name!r} has no 'url'")
    if signing is not None and not isinstance(signing, str):
        raise SecretUnavailableError(f"secret {name!r}: 'signing_secret' must be a string")
    return WebhookSecret(url=url, signing_secret=signing or None)

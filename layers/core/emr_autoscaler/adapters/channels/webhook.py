"""Webhook channels: read the URL from Secrets Manager, render, POST (retried); the signed generic webhook.

One event makes one request per channel when nothing fails: the body is rendered once, then posted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from emr_autoscaler.adapters.aws.secrets import SecretUnavailableError, WebhookSecret, WebhookSecrets
from emr_autoscaler.adapters.channels.http import HttpPoster
from emr_autoscaler.notifications.domain.notice import Notice
from emr_autoscaler.notifications.domain.renderers import render_webhook, sign_webhook
from emr_autoscaler.notifications.ports import DeliveryFailedError

_JSON = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "emr-autoscaler-notifier"}


class WebhookChannel:
    """WebhookChannel is what the three webhook channels share: secret lookup and the POST."""

    type_name = "webhook"

    def __init__(self, name: str, secret_name: str, secrets: WebhookSecrets, poster: HttpPoster) -> None:
        self.name = name
        self._secret_name = secret_name
        self._secrets = secrets
        self._poster = poster

    def _secret(self) -> WebhookSecret:
        try:
            return self._secrets.webhook(self._secret_name)
        except SecretUnavailableError as error:
            raise DeliveryFailedError(str(error)) from None

    def _post(self, secret: WebhookSecret, body: bytes, headers: dict[str, str]) -> int:
        return self._poster.post(secret.url, body, {**_JSON, **headers}, channel=self.name)


def json_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


class SignedWebhookChannel(WebhookChannel):
    """SignedWebhookChannel posts the notice as JSON, signed with HMAC-SHA256 (`clock` gives Unix seconds)."""

    type_name = "webhook"

    def __init__(
        self,
        name: str,
        secret_name: str,
        secrets: WebhookSecrets,
        poster: HttpPoster,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(name, secret_name, secrets, poster)
        self._clock = clock

    def send(self, notice: Notice) -> int:
        """Send delivers the signed notice; raises DeliveryFailedError (also when the secret has no signing key)."""
        secret = self._secret()
        if not secret.signing_secret:
            raise DeliveryFailedError(f"secret {self._secret_name!r} has no 'signing_secret' for a signed webhook")
        body = render_webhook(notice)
        # Signed once per delivery; retries resend the same timestamp, which stays within a receiver's tolerance.
        return self._post(secret, body, sign_webhook(body, secret.signing_secret, int(self._clock())))

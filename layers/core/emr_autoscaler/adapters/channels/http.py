"""HttpPoster: POST a body to a webhook over HTTPS, with short timeouts and bounded retries. Never logs URLs.

Webhook URLs are credentials (anyone holding a Slack webhook URL can post to the channel): they are never
logged, never put in an error message, and only `https` URLs are used (plain `http` only to a loopback address,
for tests). A redirect to the same scheme, host and port is followed (a POST re-sent); any other is refused.
429 and 5xx answers, timeouts and refused connections are retried, honouring `Retry-After` (seconds or an HTTP
date), within a total time budget; the sleep is injected, so tests do not wait.
"""

from __future__ import annotations

import email.utils
import http.client
import ipaddress
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from emr_autoscaler.adapters.direct_http import direct_opener
from emr_autoscaler.notifications.ports import DeliveryFailedError

logger = logging.getLogger(__name__)

_MAX_REDIRECTS = 2
_MAX_ERROR_BODY = 300
_LOOPBACK_NAMES = {"localhost"}


# The poster judges redirects itself (same host only).
_OPENER = direct_opener()


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> urllib.parse.SplitResult:
    """Check_url accepts `https://host/...`, or `http://` to a loopback address; raises DeliveryFailedError."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        raise DeliveryFailedError("the webhook URL is malformed") from None
    if not host:
        raise DeliveryFailedError("the webhook URL has no host")
    if parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(host)):
        return parts
    raise DeliveryFailedError(f"refusing a {parts.scheme or 'schemeless'} webhook URL (only https)")


def _same_origin(a: urllib.parse.SplitResult, b: urllib.parse.SplitResult) -> bool:
    return (a.scheme, (a.hostname or "").lower(), a.port) == (b.scheme, (b.hostname or "").lower(), b.port)


@dataclass(frozen=True)
class _Answer:
    status: int
    retry_after: str | None = None
    location: str | None = None
    detail: str = ""


class HttpPoster:
    """HttpPoster POSTs bodies to webhook URLs.

    `timeout_s`: per request (connect and read) in seconds; `budget_s`: total time for all attempts and waits;
    `max_attempts`: requests at most (redirects included). `sleep` and `monotonic` are injected for tests;
    `wall` (Unix seconds) reads `Retry-After` dates.
    """

    def __init__(
        self,
        timeout_s: float = 2.0,
        budget_s: float = 4.0,
        max_attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._timeout_s = timeout_s
        self._budget_s = budget_s
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._monotonic = monotonic
        self._wall = wall

    def post(self, url: str, body: bytes, headers: Mapping[str, str], channel: str) -> int:
        """Post sends `body` until a 2xx answer; returns the number of requests made.

        Raises DeliveryFailedError (reason without the URL) on a refused URL or redirect, a 4xx other than 429,
        or when retries or the time budget run out.
        """
        target = check_url(url)
        started = self._monotonic()
        requests = 0
        redirects = 0
        last = "no request was made"
        while requests < self._max_attempts:
            remaining = self._budget_s - (self._monotonic() - started)
            if remaining <= 0:
                break
            requests += 1
            try:
                answer = self._send(target.geturl(), body, headers, min(self._timeout_s, remaining))
            except (OSError, http.client.HTTPException) as error:
                # OSError covers URLError, refused connections and timeouts; their text carries no URL.
                answer = None
                last = f"request failed ({type(error).__name__})"
            if answer is not None:
                if 200 <= answer.status < 300:
                    if requests > 1:
                        logger.info("channel %s accepted the message after %d request(s)", channel, requests)
                    return requests
                if answer.status in (301, 302, 303, 307, 308):
                    target = self._redirect(target, answer, redirects)
                    redirects += 1
                    continue
                last = f"HTTP {answer.status}" + (f": {answer.detail}" if answer.detail else "")
                if answer.status != 429 and answer.status < 500:
                    raise DeliveryFailedError(f"channel refused the message ({last})", requests)
            delay = self._delay(answer, requests)
            logger.warning("channel %s: %s; attempt %d of %d", channel, last, requests, self._max_attempts)
            if requests >= self._max_attempts:
                break
            if self._monotonic() - started + delay >= self._budget_s:
                last += f"; the next attempt (in {delay:.1f} s) would exceed the {self._budget_s:.0f} s budget"
                break
            self._sleep(delay)
        raise DeliveryFailedError(f"gave up after {requests} request(s): {last}", requests)

    def _redirect(self, target: urllib.parse.SplitResult, answer: _Answer, redirects: int) -> urllib.parse.SplitResult:
        if redirects >= _MAX_REDIRECTS or not answer.location:
            raise DeliveryFailedError(f"HTTP {answer.status} redirect without a usable Location, or too many")
        following = urllib.parse.urlsplit(urllib.parse.urljoin(target.geturl(), answer.location))
        if not _same_origin(target, following):
            raise DeliveryFailedError(f"HTTP {answer.status} redirect to another host refused")
        return following

    def _delay(self, answer: _Answer | None, attempt: int) -> float:
        backoff = 0.25 * float(2 ** (attempt - 1))
        if answer is None or not answer.retry_after:
            return backoff
        value = answer.retry_after.strip()
        if value.isdigit():
            return float(value)
        try:
            at = email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            return backoff
        return max(0.0, float(at) - float(self._wall()))

    @staticmethod
    def _send(url: str, body: bytes, headers: Mapping[str, str], timeout_s: float) -> _Answer:
        request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310
        try:
            # check_url allowed only https (or loopback http): no file:// or other handler is reachable.
            with _OPENER.open(request, timeout=timeout_s) as response:
                response.read(_MAX_ERROR_BODY)
                return _Answer(status=response.status)
        except urllib.error.HTTPError as error:
            detail = error.read(_MAX_ERROR_BODY).decode("utf-8", "replace").strip().replace("\n", " ")
            return _Answer(
                status=error.code,
                retry_after=error.headers.get("Retry-After"),
                location=error.headers.get("Location"),
                detail=detail[:200],
            )

"""Fault injection: botocore event hooks that make one AWS operation fail the way AWS fails, and an HTTP server
that fails the way a webhook or a ResourceManager does.

AWS faults are injected per *attempt* (`before-send`), so botocore's real retry logic runs: a throttled or 5xx
answer is an HTTP error response in the service's wire protocol, a timeout is botocore's `ReadTimeoutError`, and
a malformed answer is the real answer mutated after parsing (`after-call`, after moto has acted on the request,
as when AWS acts and its answer is lost or garbled). Retry waits are patched out (`no_retry_waits`).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import botocore.endpoint
import botocore.retries.adaptive
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError


class Fault(StrEnum):
    """Fault is one way a dependency fails."""

    THROTTLING = "throttling"
    SERVER_ERROR = "5xx"
    TIMEOUT = "timeout"
    ACCESS_DENIED = "access denied"
    MALFORMED = "malformed/partial"


FAULTS = tuple(Fault)
# Faults a retry can cure; the others fail the same way every time.
TRANSIENT = frozenset({Fault.THROTTLING, Fault.SERVER_ERROR, Fault.TIMEOUT})


class _Body:
    """A raw HTTP body botocore can read (`stream()` and `read()`)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, *_args: Any) -> bytes:
        data, self._data = self._data, b""
        return data

    def stream(self, **_kwargs: Any) -> Iterator[bytes]:
        data = self.read()
        if data:
            yield data


def error_response(protocol: str, url: str, fault: Fault) -> AWSResponse:
    """Error_response is AWS's answer for `fault` in the service's wire protocol (query XML or JSON)."""
    query = protocol == "query"
    status, code = {
        Fault.THROTTLING: (400, "Throttling" if query else "ThrottlingException"),
        Fault.SERVER_ERROR: (500, "InternalFailure" if query else "InternalServerError"),
        Fault.ACCESS_DENIED: (403 if query else 400, "AuthorizationError" if query else "AccessDeniedException"),
    }[fault]
    message = f"injected {fault.value}"
    if query:
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            "<RequestId>fault-injection</RequestId></ErrorResponse>"
        ).encode()
        headers = {"Content-Type": "text/xml"}
    else:
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "fault-injection"}
    return AWSResponse(url, status, headers, _Body(body))  # type: ignore[arg-type]


@dataclass
class Calls:
    """Calls counts, per `service.Operation`, the application's API calls and the ones AWS answered with success."""

    calls: Counter[str] = field(default_factory=Counter)
    succeeded: Counter[str] = field(default_factory=Counter)
    succeeded_params: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def attach(self, session: boto3.Session) -> None:
        """Attach counts every call of every client the session creates from now on."""
        session.events.register("before-parameter-build", self._before_call)
        session.events.register("after-call", self._after_call)

    @staticmethod
    def _name(model: Any) -> str:
        return f"{model.service_model.service_id.hyphenize()}.{model.name}"

    def _before_call(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        self.calls[self._name(model)] += 1
        context["fault_params"] = params

    def _after_call(self, http_response: Any, model: Any, context: dict[str, Any], **_: Any) -> None:
        if http_response is not None and http_response.status_code < 300:
            name = self._name(model)
            self.succeeded[name] += 1
            self.succeeded_params.setdefault(name, []).append(context.get("fault_params") or {})


@dataclass
class AwsFault:
    """AwsFault makes `service.Operation` fail with `fault` on every attempt while `active` (counting attempts)."""

    service: str  # botocore's hyphenized service id: emr, cloudwatch, dynamodb, ssm, secrets-manager, sns, eventbridge
    operation: str
    fault: Fault
    mangle: Callable[[dict[str, Any]], None] | None = None  # MALFORMED: mutates the parsed answer in place
    active: bool = True
    attempts: int = 0

    @property
    def name(self) -> str:
        return f"{self.service}.{self.operation}"

    def attach(self, session: boto3.Session) -> None:
        """Attach injects the fault into every client the session creates from now on."""
        session.events.register(f"before-send.{self.name}", self._before_send)
        session.events.register(f"after-call.{self.name}", self._after_call)

    def _before_send(self, request: Any, operation_name: str | None = None, **_: Any) -> AWSResponse | None:
        self.attempts += 1
        if not self.active or self.fault is Fault.MALFORMED:
            return None
        if self.fault is Fault.TIMEOUT:
            raise ReadTimeoutError(endpoint_url=request.url)
        protocol = "query" if self.service == "sns" else "json"
        return error_response(protocol, request.url, self.fault)

    def _after_call(self, http_response: Any, parsed: dict[str, Any], **_: Any) -> None:
        if self.active and self.fault is Fault.MALFORMED and http_response.status_code < 300:
            assert self.mangle is not None, f"no malformed answer defined for {self.name}"
            self.mangle(parsed)


@contextlib.contextmanager
def no_retry_waits() -> Iterator[None]:
    """No_retry_waits lets botocore retry at once: no backoff sleep, no adaptive client-side rate limiting.

    Only the waits are removed; which errors are retried, and how often, stays botocore's decision.
    """

    class _NoSleep:
        @staticmethod
        def sleep(_seconds: float) -> None:
            return None

        time = staticmethod(time.time)

    saved_time = botocore.endpoint.time
    saved_acquire = botocore.retries.adaptive.ClientRateLimiter.on_sending_request
    botocore.endpoint.time = _NoSleep  # type: ignore[assignment]
    botocore.retries.adaptive.ClientRateLimiter.on_sending_request = lambda *_a, **_k: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        botocore.endpoint.time = saved_time
        botocore.retries.adaptive.ClientRateLimiter.on_sending_request = saved_acquire  # type: ignore[method-assign]


@dataclass
class HttpAnswer:
    """HttpAnswer is what the scripted server does next: a status and body, a delay, or a cut-off response."""

    status: int = 200
    body: bytes = b"ok"
    delay_s: float = 0.0
    partial: bool = False  # the answer stops inside its status line and the connection closes


@dataclass
class ScriptedHttpServer:
    """ScriptedHttpServer answers GET and POST on 127.0.0.1 with `fault` (when set) or `ok`, and records requests.

    `ok_answers` counts the requests answered with `ok`: for a webhook, the messages that reached the channel.
    """

    ok: HttpAnswer = field(default_factory=HttpAnswer)
    fault: HttpAnswer | None = None
    requests: list[tuple[str, str]] = field(default_factory=list)
    ok_answers: int = 0
    port: int = 0
    _released: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        self.requests.append((handler.command, handler.path))
        answer = self.fault or self.ok
        self.ok_answers += answer is self.ok
        if answer.delay_s:
            self._released.wait(answer.delay_s)
        with contextlib.suppress(OSError):  # the client may have given up (timeouts)
            if answer.partial:
                handler.wfile.write(b"HTTP/1.1 20")  # the answer stops inside its status line
                handler.close_connection = True
                return
            handler.send_response(answer.status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(answer.body)))
            handler.end_headers()
            handler.wfile.write(answer.body)

    @contextlib.contextmanager
    def running(self) -> Iterator[ScriptedHttpServer]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner._answer(self)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                owner._answer(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._released.set()
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)

    def http_fault(self, fault: Fault, timeout_s: float) -> HttpAnswer:
        """Http_fault is how an HTTP endpoint shows `fault` (a timeout waits past `timeout_s`)."""
        return {
            Fault.THROTTLING: HttpAnswer(status=429, body=b'{"error": "rate limited"}'),
            Fault.SERVER_ERROR: HttpAnswer(status=503, body=b'{"error": "unavailable"}'),
            Fault.TIMEOUT: HttpAnswer(delay_s=timeout_s + 0.2, body=self.ok.body),
            Fault.ACCESS_DENIED: HttpAnswer(status=403, body=b'{"error": "forbidden"}'),
            Fault.MALFORMED: HttpAnswer(body=self.ok.body, partial=True),
        }[fault]

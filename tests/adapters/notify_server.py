"""A local webhook receiver (http.server on 127.0.0.1:0) for channel tests: scripted answers, recorded requests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Received:
    """Received is one request as the server saw it."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookServer:
    """WebhookServer answers each path with its scripted (status, headers) answers in turn, then 200 "ok"."""

    port: int = 0
    script: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def requests_to(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]


def _handler_for(server: WebhookServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            server.received.append(Received(self.path, dict(self.headers.items()), body))
            answers = server.script.get(self.path, [])
            status, headers = answers.pop(0) if answers else (200, {})
            reply = b"ok" if status < 300 else b"service_unavailable"
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def webhook_server() -> Iterator[WebhookServer]:
    state = WebhookServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(state))
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)

"""HttpSink: a local HTTP endpoint that records what the notifier posts (the sandbox's Slack/Teams/webhook)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class ReceivedMessage:
    """ReceivedMessage is one request the sink received: its path (the channel), headers and body."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """Json decodes the body (None when it is not JSON)."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class HttpSink:
    """HttpSink listens on a free loopback port; `/fail/...` paths answer 503 (a dead endpoint)."""

    def __init__(self) -> None:
        self.received: list[ReceivedMessage] = []
        self._lock = threading.Lock()
        sink = self

        class _Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if self.path.startswith("/fail"):
                    self.send_response(503)
                    self.end_headers()
                    return
                with sink._lock:
                    sink.received.append(ReceivedMessage(self.path, dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox-sink", daemon=True)

    def url(self, path: str) -> str:
        """Url is the sink's address for `path` (e.g. `/slack/oncall`)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def __enter__(self) -> HttpSink:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

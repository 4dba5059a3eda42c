"""A webhook receiver on loopback that verifies signatures and fails on demand."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    """One request as the receiver saw it."""

    path: str
    headers: dict[str, str]
    event: dict[str, Any]
    verified: bool
    answered: int | str


@dataclass
class Receiver:
    """Answers each path's requests by its script ("500", "echo", "timeout", "ok"), then "ok"."""

    base_url: str
    secrets: dict[str, str] = field(default_factory=dict)
    scripts: dict[str, list[str]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    hang_seconds: float = 1.0

    def url(self, path: str) -> str:
        """Return the address of a path on this receiver."""
        return f"{self.base_url}{path}"

    def at(self, path: str) -> list[Received]:
        """Return the requests a path received, in order."""
        return [r for r in self.received if r.path == path]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            headers = {k.lower(): v for k, v in self.headers.items()}
            with receiver.lock:
                script = receiver.scripts.get(self.path, [])
                action = script.pop(0) if script else "ok"
            secret = receiver.secrets.get(self.path)
            try:
                Webhook(secret or "whsec_AAAA").verify(body, headers)
                verified = secret is not None
            except WebhookVerificationError:
                verified = False
            answer: int | str = action if action == "timeout" else 500
            if action == "ok":
                answer = 204 if verified else 401
            elif action == "echo":
                answer = 422
            with receiver.lock:
                receiver.received.append(
                    Received(self.path, headers, orjson.loads(body), verified, answer)
                )
            if action == "timeout":
                time.sleep(receiver.hang_seconds)
                return
            # "echo": refused with a body quoting what was sent, as some receivers do.
            reply = b"invalid event: " + body if action == "echo" else b""
            self.send_response(int(answer))
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output quiet."""

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up on a hanging answer is expected here."""


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    """Serve a Receiver on 127.0.0.1 on a free port for the block."""
    receiver = Receiver(base_url="")
    server = _QuietServer(("127.0.0.1", 0), _handler(receiver))
    receiver.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

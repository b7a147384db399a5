"""A partner's webhook endpoint on loopback: `/ok` answers 204, `/gone` 410, `/slow` 204 after
`slow_s`, and `/flaky` 503 to its first request and 204 after; every request is kept (headers
and body), and a webhook posted again while its first post is still being answered is noted."""

import threading
import time
from collections import Counter
from contextlib import AbstractContextManager
from dataclasses import dataclass
from http.server import ThreadingHTTPServer

from tests.loopback import QuietHandler, serving


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver(ThreadingHTTPServer):
    # socketserver's default backlog of 5 drops connections when a round posts more at once,
    # and the client's connect is retried a second later.
    request_queue_size = 128
    received: list[Received]
    slow_s: float
    overlapping: list[str]  # webhook ids received while a post of the same id was in flight
    _in_flight: Counter[str]
    _lock: threading.Lock

    def url(self, path: str) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def ids(self, path: str) -> list[str]:
        return [r.headers["Loyalty-Webhook-Id"] for r in self.received if r.path == path]


class _Handler(QuietHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        webhook_id = self.headers.get("Loyalty-Webhook-Id", "")
        with self.server._lock:
            earlier = [r for r in self.server.received if r.path == self.path]
            self.server.received.append(Received(self.path, dict(self.headers.items()), body))
            if self.server._in_flight[webhook_id]:
                self.server.overlapping.append(webhook_id)
            self.server._in_flight[webhook_id] += 1
        try:
            if self.path == "/slow":
                time.sleep(self.server.slow_s)
            status = {"/ok": 204, "/gone": 410, "/slow": 204}.get(
                self.path, 503 if not earlier else 204
            )
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
        finally:
            with self.server._lock:
                self.server._in_flight[webhook_id] -= 1


def receiver(slow_s: float = 1.0) -> AbstractContextManager[Receiver]:
    server = Receiver(("127.0.0.1", 0), _Handler)
    server.received = []
    server.slow_s = slow_s
    server.overlapping = []
    server._in_flight = Counter()
    server._lock = threading.Lock()
    return serving(server)

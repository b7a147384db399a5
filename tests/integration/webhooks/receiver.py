"""A partner's webhook endpoint on loopback: `/ok` answers 204, `/gone` 410, and `/flaky`
503 to its first request and 204 after; every request is kept (headers and body)."""

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
    received: list[Received]

    def url(self, path: str) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}{path}"


class _Handler(QuietHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        earlier = [r for r in self.server.received if r.path == self.path]
        self.server.received.append(Received(self.path, dict(self.headers.items()), body))
        status = {"/ok": 204, "/gone": 410}.get(self.path, 503 if not earlier else 204)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


def receiver() -> AbstractContextManager[Receiver]:
    server = Receiver(("127.0.0.1", 0), _Handler)
    server.received = []
    return serving(server)

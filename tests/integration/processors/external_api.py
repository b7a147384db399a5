"""A stand-in for a tenant's points API (Kwegg's programmatic rewards), on loopback: `/points/N`
answers `{"points": N}`, `/down` answers 503, and every request body is kept for inspection."""

import json
from contextlib import AbstractContextManager
from http.server import ThreadingHTTPServer
from typing import Any

from tests.loopback import QuietHandler, serving


class PointsApi(ThreadingHTTPServer):
    received: list[dict[str, Any]]


class _Handler(QuietHandler):
    server: PointsApi

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.server.received.append(json.loads(self.rfile.read(length) or b"{}"))
        if self.path.startswith("/points/"):
            self._answer(200, {"points": int(self.path.rsplit("/", 1)[1])})
        else:
            self._answer(503, {"error": "down"})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def points_api() -> AbstractContextManager[PointsApi]:
    server = PointsApi(("127.0.0.1", 0), _Handler)
    server.received = []
    return serving(server)

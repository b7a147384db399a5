"""Programmatic rewards' API calls: transient failures are retried a bounded number of times,
with no wait after the last attempt; other answers are not retried."""

from datetime import UTC, datetime

import httpx
import pytest

from processors.engine import ExternalCall
from processors.external import ExternalPoints
from schemas.events import EventV1

CALL = ExternalCall("r", 1, "evt_1", "http://points.test/", "POST", {}, {"tenant": "t"})
EVENT = EventV1(
    event_id="evt_1",
    programme_id="p",
    user_id="u",
    event_type="video",
    occurred_at=datetime(2026, 12, 4, tzinfo=UTC),
)


def points_api(answers: list[httpx.Response | Exception]) -> tuple[ExternalPoints, list[str]]:
    """An ExternalPoints whose HTTP client answers `answers` in turn (httpx's mock transport)."""
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.host)
        found = answers.pop(0)
        if isinstance(found, Exception):
            raise found
        return found

    external = ExternalPoints(timeout_s=1, attempts_max=3, backoff_s=0.05)
    external._http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    return external, asked


async def test_transient_failures_are_retried_then_the_answer_is_read() -> None:
    external, asked = points_api(
        [
            httpx.ConnectError("refused"),
            httpx.Response(503),
            httpx.Response(200, json={"points": 9}),
        ]
    )
    assert await external.fetch(CALL, EVENT) == 9
    assert len(asked) == 3


async def test_after_the_last_attempt_it_gives_up_without_waiting(
    caplog: pytest.LogCaptureFixture,
) -> None:
    external, asked = points_api([httpx.Response(500)] * 3)
    assert await external.fetch(CALL, EVENT) is None
    assert len(asked) == 3
    # Every wait is logged just before it is taken (tenacity's `before_sleep`): two waits
    # between the three attempts, none after the last. (Counted, not timed: a wall-clock bound
    # failed on a loaded machine, 0.43 s against 0.3.)
    waits = [r.getMessage() for r in caplog.records if r.name == "processors.external"]
    assert [wait.rsplit(" ", 2)[-2:] for wait in waits] == [["(attempt", "1)"], ["(attempt", "2)"]]


async def test_a_client_error_or_a_bad_answer_is_not_retried() -> None:
    for answer in (httpx.Response(404), httpx.Response(200, json={"points": -1})):
        external, asked = points_api([answer])
        assert await external.fetch(CALL, EVENT) is None
        assert len(asked) == 1

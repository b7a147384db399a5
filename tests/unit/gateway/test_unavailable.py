"""While Kafka or Postgres is away, clients get 503 `unavailable` with Retry-After and a body
that says what to do, never a 500: a write's outcome is unknown, and the reference makes a
retry safe."""

from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
from aiokafka.errors import KafkaTimeoutError
from asyncpg.exceptions import InternalClientError
from fastapi import FastAPI

from gateway import errors
from gateway.errors import Unavailable
from gateway.publishing.publisher import Publisher
from schemas.events import EventV1


@pytest.mark.parametrize(
    "lost",
    [
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        ConnectionRefusedError(111, "Connect call failed"),
        # What asyncpg raised when Postgres was killed under a query (the chaos run, issue 19).
        InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
    ],
)
async def test_a_database_that_is_away_is_a_503_with_retry_after(lost: Exception) -> None:
    app = FastAPI()
    errors.install(app)

    @app.get("/read")
    async def read() -> None:
        raise lost

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.get("/read")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    assert answer.json()["error"] == "unavailable"
    assert "retry" in answer.json()["message"]


class TimingOut:
    async def send_and_wait(self, *_args: object, **_kwargs: object) -> None:
        raise KafkaTimeoutError()


@pytest.mark.parametrize(
    ("reference", "advice"),
    [("order-1", "retry with the same reference_id"), (None, "may count it twice")],
)
async def test_kafka_not_confirming_an_event_says_its_outcome_is_unknown(
    reference: str | None, advice: str
) -> None:
    publisher = Publisher("127.0.0.1:1", "events", "commands", timeout_s=0.1, linger_ms=0)
    never_started, publisher._producer = publisher._producer, TimingOut()
    await never_started.stop()  # closed, so it is not reported as leaked
    event = EventV1(
        event_id="evt_1",
        programme_id="p",
        user_id="u",
        event_type="purchase",
        occurred_at=datetime(2026, 12, 4, tzinfo=UTC),
        reference_id=reference,
    )
    with pytest.raises(Unavailable) as refused:
        await publisher.publish(event)
    assert "outcome is unknown" in refused.value.message
    assert advice in refused.value.message
    assert refused.value.headers == {"Retry-After": "1"}

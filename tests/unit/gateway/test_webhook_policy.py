"""Webhook retries: only transient failures, with doubling backoff, bounded; signatures."""

from datetime import UTC, datetime, timedelta

import pytest

from gateway.webhooks import signing
from gateway.webhooks.policy import Attempt, DeliveryPolicy, after

NOW = datetime(2026, 11, 22, tzinfo=UTC)
POLICY = DeliveryPolicy(attempts_max=4, backoff_first_s=2.0, backoff_max_s=5.0)


@pytest.mark.parametrize("status", [200, 202, 204])
def test_a_2xx_is_delivered(status: int) -> None:
    assert after(Attempt(status), 1, NOW, POLICY).status == "delivered"


@pytest.mark.parametrize("attempt", [Attempt(None, "ConnectError"), Attempt(503), Attempt(429)])
def test_transient_failures_are_retried_with_doubling_backoff(attempt: Attempt) -> None:
    retries = [after(attempt, made, NOW, POLICY) for made in (1, 2, 3)]
    assert [r.status for r in retries] == ["pending"] * 3
    assert [r.retry_at - NOW for r in retries if r.retry_at] == [
        timedelta(seconds=2),
        timedelta(seconds=4),
        timedelta(seconds=5),  # capped at backoff_max_s
    ]
    assert after(attempt, 4, NOW, POLICY).status == "failed"


@pytest.mark.parametrize("status", [400, 401, 404, 410])
def test_other_answers_are_final(status: int) -> None:
    assert after(Attempt(status), 1, NOW, POLICY).status == "failed"


def test_a_signature_verifies_only_with_its_secret_body_and_time() -> None:
    header = signing.signature("s" * 32, 1_700_000_000, b'{"a":1}')
    assert signing.verify("s" * 32, header, b'{"a":1}', 1_700_000_100)
    assert not signing.verify("s" * 32, header, b'{"a":2}', 1_700_000_100)
    assert not signing.verify("t" * 32, header, b'{"a":1}', 1_700_000_100)
    assert not signing.verify("s" * 32, header, b'{"a":1}', 1_700_001_000)  # replayed late
    assert not signing.verify("s" * 32, "garbage", b'{"a":1}', 1_700_000_000)

"""Kwegg access tokens: random, read from `Authorization` as they are or after `Bearer `."""

from datetime import UTC, datetime, timedelta

import pytest

from gateway import keys
from gateway.errors import Unauthorized
from gateway.kwegg import tokens


def test_tokens_are_random_and_only_their_digest_identifies_them() -> None:
    first, second = tokens.new_token(), tokens.new_token()
    assert first != second
    assert first.startswith(tokens.TOKEN_PREFIX)
    assert len(keys.digest(first)) == 32
    assert keys.digest(first) == keys.digest(first)  # deterministic: a lookup key
    assert keys.digest(first) != keys.digest(second)


@pytest.mark.parametrize("header", ["kwt_abc", " kwt_abc ", "Bearer kwt_abc", "bearer  kwt_abc"])
def test_the_token_is_read_as_sent_or_after_bearer(header: str) -> None:
    assert tokens.token_of(header) == "kwt_abc"


@pytest.mark.parametrize("header", [None, "", "Bearer", "abc", "Basic kwt_abc", "kwt_" + "x" * 200])
def test_anything_else_is_unauthorized(header: str | None) -> None:
    with pytest.raises(Unauthorized):
        tokens.token_of(header)


def test_expiry_is_the_ttl_after_now() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert tokens.expiry(now, 3_600) == now + timedelta(hours=1)

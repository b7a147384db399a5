"""API keys: random secrets shown once, stored as SHA-256, told apart by environment prefix."""

import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal

Environment = Literal["production", "staging"]
PREFIXES: dict[Environment, str] = {"production": "lk_live_", "staging": "lk_test_"}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: every read and write is scoped to this programme and partner."""

    programme_id: str
    partner_id: str
    environment: Environment


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key_id: str
    secret: str
    sha256: bytes


def digest(api_key: str) -> bytes:
    """The SHA-256 a secret (an API key, a Kwegg access token) is stored and looked up by."""
    return hashlib.sha256(api_key.encode()).digest()


def issue(
    environment: Environment, key_id: str | None = None, secret: str | None = None
) -> IssuedKey:
    """A new key `lk_live_<id>_<secret>`; id and secret may be fixed for a reproducible demo."""
    key_id = key_id or secrets.token_hex(6)
    full = f"{PREFIXES[environment]}{key_id}_{secret or secrets.token_urlsafe(32)}"
    return IssuedKey(key_id=key_id, secret=full, sha256=digest(full))


def environment_of(api_key: str) -> Environment | None:
    for environment, prefix in PREFIXES.items():
        if api_key.startswith(prefix):
            return environment
    return None

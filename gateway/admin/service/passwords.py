"""Admins' passwords: argon2id (argon2-cffi's defaults, RFC 9106's second recommended profile),
verified off the event loop since a verification is tens of milliseconds of CPU by design."""

import asyncio
import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

LENGTH_MIN = 12
LENGTH_MAX = 1_024
_HASHER = PasswordHasher()


def problem(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < LENGTH_MIN:
        return f"at least {LENGTH_MIN} characters"
    if len(password) > LENGTH_MAX:
        return f"at most {LENGTH_MAX} characters"
    return None


def generated() -> str:
    """A random password to print once (128 bits)."""
    return secrets.token_urlsafe(16)


def hashed(password: str) -> str:
    return _HASHER.hash(password)


def matches(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _decoy() -> str:
    return hashed(secrets.token_urlsafe(16))


async def verify(password_hash: str | None, password: str) -> bool:
    """True when the password is the hash's. Without a hash (no such admin) a decoy is checked,
    so that the answer takes as long and an email's existence does not show in the timing."""
    if len(password) > LENGTH_MAX:
        return False
    return await asyncio.to_thread(matches, password_hash or _decoy(), password) and (
        password_hash is not None
    )

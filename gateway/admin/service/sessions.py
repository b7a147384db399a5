"""Console sessions: logging in (rate limited), finding the session of a request, logging out.

A session is a random 256-bit id in an HttpOnly cookie; the database keeps its SHA-256, the
admin, a CSRF secret that every form of the session carries back, and when it expires. Failed
logins are rows in Postgres, counted per email and per client address over a window, so the
limit holds across restarts and console instances; a limited login is refused before its
password is even checked."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import asyncpg

from gateway.admin.service import passwords
from gateway.admin.service.actors import Actor
from gateway.admin.service.admins import find, normalised_email
from gateway.admin.service.audit import Connection
from gateway.admin.service.errors import TooManyAttempts, Unauthenticated

SEEN_RESOLUTION = timedelta(minutes=1)
"""`last_seen_at` is written at most once a minute per session."""
CLEANUP_BATCH_MAX = 500


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    attempts_max: int = 5
    """Failed logins of one email within the window before its logins are refused."""
    address_attempts_max: int = 50
    """Failed logins from one client address within the window (any email)."""
    window: timedelta = timedelta(minutes=15)
    session_lifetime: timedelta = timedelta(hours=8)


class LoginResult(StrEnum):
    """How logins end, for the console's metric."""

    OK = "ok"
    REFUSED = "refused"
    RATE_LIMITED = "rate_limited"


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    """The cookie's value; only its SHA-256 is stored."""
    csrf_token: str
    actor: Actor
    expires_at: datetime


def locked_until(
    recent_failures: list[datetime], attempts_max: int, window: timedelta
) -> datetime | None:
    """When logins are allowed again, given the failures within the window (newest first), or
    None when they are allowed now: the limit lifts as the `attempts_max`-th newest failure
    leaves the window."""
    if len(recent_failures) < attempts_max:
        return None
    return recent_failures[attempts_max - 1] + window


async def login(
    pool: asyncpg.Pool, email: str, password: str, address: str, policy: LoginPolicy
) -> Session:
    """A new session; TooManyAttempts, or Unauthenticated for a wrong email or password (the
    same refusal for both, and for a disabled admin)."""
    email = normalised_email(email)
    async with pool.acquire() as connection:
        now: datetime = await connection.fetchval("SELECT now()")
        await _refuse_if_limited(connection, email, address, now, policy)
        admin = await find(connection, email)
        password_hash = (
            None
            if admin is None
            else await connection.fetchval(
                "SELECT password_hash FROM admins WHERE admin_id = $1", admin.admin_id
            )
        )
        ok = await passwords.verify(password_hash, password)
        succeeded = ok and admin is not None and not admin.disabled
        async with connection.transaction():
            await connection.execute(
                "INSERT INTO admin_login_attempts (email, address, succeeded) VALUES ($1, $2, $3)",
                email, address, succeeded,
            )  # fmt: skip
            await _forget_old(connection, now - policy.window)
        # The failure is committed (and counted) before it is refused.
        if not succeeded or admin is None:
            raise Unauthenticated("wrong email or password")
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires_at = now + policy.session_lifetime
        async with connection.transaction():
            # A success forgives the email's earlier failures (not the address's).
            await connection.execute(
                "DELETE FROM admin_login_attempts WHERE email = $1 AND NOT succeeded", email
            )
            await connection.execute(
                "INSERT INTO admin_sessions (session_sha256, admin_id, csrf_secret, expires_at) "
                "VALUES ($1, $2, $3, $4)",
                _digest(token), admin.admin_id, csrf, expires_at,
            )  # fmt: skip
    return Session(token, csrf, admin.actor(), expires_at)


async def _refuse_if_limited(
    connection: Connection, email: str, address: str, now: datetime, policy: LoginPolicy
) -> None:
    since = now - policy.window
    for column, value, limit in (
        ("email", email, policy.attempts_max),
        ("address", address, policy.address_attempts_max),
    ):
        failures = await connection.fetch(
            f"SELECT at FROM admin_login_attempts WHERE {column} = $1 AND NOT succeeded "
            "AND at > $2 ORDER BY at DESC LIMIT $3",
            value,
            since,
            limit,
        )
        until = locked_until([row["at"] for row in failures], limit, policy.window)
        if until is not None and until > now:
            retry_after_s = max(1, int((until - now).total_seconds()) + 1)
            minutes = -(-retry_after_s // 60)
            raise TooManyAttempts(
                f"too many failed logins; try again in {minutes} minute"
                + ("s" if minutes != 1 else ""),
                retry_after_s,
            )


async def _forget_old(connection: Connection, before: datetime) -> None:
    """Attempts that no window counts any more, and expired sessions, a bounded batch at a
    time."""
    await connection.execute(
        "DELETE FROM admin_login_attempts WHERE attempt_id IN (SELECT attempt_id FROM "
        "admin_login_attempts WHERE at < $1 ORDER BY at LIMIT $2)",
        before,
        CLEANUP_BATCH_MAX,
    )
    await connection.execute(
        "DELETE FROM admin_sessions WHERE session_sha256 IN (SELECT session_sha256 FROM "
        "admin_sessions WHERE expires_at < now() LIMIT $1)",
        CLEANUP_BATCH_MAX,
    )


@dataclass(frozen=True, slots=True)
class Resumed:
    actor: Actor
    csrf_token: str


async def resume(pool: asyncpg.Pool, token: str) -> Resumed | None:
    """The session of a cookie, if it is live and its admin enabled."""
    row = await pool.fetchrow(
        """
        SELECT s.csrf_secret, s.last_seen_at, now() AS now, a.admin_id, a.email, a.role,
               a.all_programmes,
               ARRAY(SELECT programme_id FROM admin_grants g WHERE g.admin_id = a.admin_id)
                   AS programmes
        FROM admin_sessions s JOIN admins a USING (admin_id)
        WHERE s.session_sha256 = $1 AND s.expires_at > now() AND NOT a.disabled
        """,
        _digest(token),
    )
    if row is None:
        return None
    if row["now"] - row["last_seen_at"] > SEEN_RESOLUTION:
        await pool.execute(
            "UPDATE admin_sessions SET last_seen_at = now() WHERE session_sha256 = $1",
            _digest(token),
        )
    granted = None if row["all_programmes"] else frozenset(row["programmes"])
    actor = Actor(row["email"], row["role"], row["admin_id"], granted, row["email"])
    return Resumed(actor, row["csrf_secret"])


async def logout(pool: asyncpg.Pool, token: str) -> None:
    await pool.execute("DELETE FROM admin_sessions WHERE session_sha256 = $1", _digest(token))


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()

"""Admins' access on the real Postgres: logins rate limited across restarts, sessions that end,
API tokens that are revocable, and partner API keys issued, listed with their last use, and
revoked; each change audited, never with a secret."""

from datetime import timedelta

import asyncpg
import pytest

from gateway.admin.service import admins, api_keys, audit, sessions, tokens
from gateway.admin.service.backend import Backend
from gateway.admin.service.errors import Forbidden, Invalid, TooManyAttempts, Unauthenticated
from gateway.key_usage import KeyUsage
from gateway.keys import digest
from schemas.programme import ProgrammeConfig
from tests.integration.admin.conftest import CLI, make_admin

pytestmark = pytest.mark.integration
POLICY = sessions.LoginPolicy(attempts_max=3, window=timedelta(minutes=15))


async def test_a_login_opens_a_session_that_logging_out_ends(admin_pool: asyncpg.Pool) -> None:
    admin = await make_admin(admin_pool, "viewer", [], password="a long password 1")
    session = await sessions.login(admin_pool, admin.email.upper(), "a long password 1",
                                   "10.0.0.1", POLICY)  # fmt: skip
    resumed = await sessions.resume(admin_pool, session.token)
    assert resumed is not None
    assert (resumed.actor.email, resumed.actor.role) == (admin.email, "viewer")
    assert resumed.csrf_token == session.csrf_token
    stored = await admin_pool.fetchval("SELECT count(*) FROM admin_sessions WHERE "
                                       "session_sha256 = $1", digest(session.token))  # fmt: skip
    assert stored == 1  # by its SHA-256: the token itself is nowhere
    await sessions.logout(admin_pool, session.token)
    assert await sessions.resume(admin_pool, session.token) is None


async def test_wrong_passwords_lock_the_email_across_restarts(postgres_url: str) -> None:
    async with asyncpg.create_pool(postgres_url, min_size=1, max_size=2) as pool:
        admin = await make_admin(pool, "editor", [], password="the right one 1")
        for _ in range(POLICY.attempts_max):
            with pytest.raises(Unauthenticated, match="wrong email or password"):
                await sessions.login(pool, admin.email, "wrong", "10.0.0.2", POLICY)
    # A new pool, as a restarted console: the failures are in Postgres.
    async with asyncpg.create_pool(postgres_url, min_size=1, max_size=2) as pool:
        with pytest.raises(TooManyAttempts) as limited:
            await sessions.login(pool, admin.email, "the right one 1", "10.0.0.3", POLICY)
        assert 14 * 60 < limited.value.retry_after_s <= 15 * 60 + 1
        other = await make_admin(pool, "editor", [], password="the right one 1")
        assert await sessions.login(pool, other.email, "the right one 1", "10.0.0.2", POLICY)


async def test_an_unknown_email_and_a_disabled_admin_are_refused_alike(
    admin_pool: asyncpg.Pool,
) -> None:
    with pytest.raises(Unauthenticated, match="wrong email or password"):
        await sessions.login(admin_pool, "nobody@example.com", "whatever", "10.0.0.4", POLICY)
    admin = await make_admin(admin_pool, "viewer", [], password="a long password 1")
    session = await sessions.login(admin_pool, admin.email, "a long password 1", "x", POLICY)
    await admin_pool.execute("UPDATE admins SET disabled = true WHERE admin_id = $1",
                             admin.admin_id)  # fmt: skip
    assert await sessions.resume(admin_pool, session.token) is None
    with pytest.raises(Unauthenticated):
        await sessions.login(admin_pool, admin.email, "a long password 1", "x", POLICY)


async def test_new_admins_are_checked_and_audited_without_their_password(
    admin_pool: asyncpg.Pool,
) -> None:
    with pytest.raises(Invalid) as refused:
        await admins.create(admin_pool, CLI, "not-an-email", "boss", "short")
    assert set(refused.value.fields) == {"email", "role", "password"}
    with pytest.raises(Invalid, match="only an owner may be granted every programme"):
        await admins.create(admin_pool, CLI, "v@example.com", "viewer", "long enough 12",
                            all_programmes=True)  # fmt: skip
    admin = await make_admin(admin_pool, "owner", [])
    (entry,) = await audit.entries(
        admin_pool, CLI, audit.Filters(object_type="admin", object_id=admin.email)
    )
    assert entry.actor == CLI.label
    assert "argon2" not in str(entry.after)
    with pytest.raises(Forbidden):
        await admins.create(admin_pool, (await make_admin(admin_pool, "editor", [])).actor(),
                            "x@example.com", "viewer", "long enough 12")  # fmt: skip


async def test_an_api_token_acts_as_its_admin_until_revoked(admin_pool: asyncpg.Pool) -> None:
    admin = await make_admin(admin_pool, "editor", [])
    issued = await tokens.create(admin_pool, CLI, admin.email, "deploy bot")
    actor = await tokens.resolve(admin_pool, issued.secret)
    assert actor is not None
    assert (actor.email, actor.role, actor.label) == (
        admin.email, "editor", f"{admin.email} (token {issued.token_id})",
    )  # fmt: skip
    assert await tokens.resolve(admin_pool, issued.secret + "x") is None
    (listed,) = await tokens.listed(admin_pool, actor)
    assert listed.last_used_at is not None
    await tokens.revoke(admin_pool, actor, issued.token_id)
    assert await tokens.resolve(admin_pool, issued.secret) is None
    actions = [
        e.action
        for e in await audit.entries(
            admin_pool, CLI, audit.Filters(object_type="token", object_id=issued.token_id)
        )
    ]
    assert actions == ["token.revoked", "token.created"]


async def test_partner_keys_are_issued_once_listed_with_their_last_use_and_revoked(
    backend: Backend, programme: ProgrammeConfig
) -> None:
    programme_id = programme.programme_id
    editor = (await make_admin(backend.pool, "editor", [programme_id])).actor()
    issued = await api_keys.issue(backend, editor, programme_id, "shop", "production")
    (key,) = await api_keys.listed(backend.pool, editor, programme_id)
    assert (key.prefix, key.last_used_at, key.active) == (f"lk_live_{issued.key_id}", None, True)
    usage = KeyUsage()
    usage.touch(issued.sha256)
    assert await usage.flush(backend.pool) == 1
    (key,) = await api_keys.listed(backend.pool, editor, programme_id)
    assert key.last_used_at is not None
    revoked = await api_keys.revoke(backend, editor, programme_id, issued.key_id)
    assert not revoked.active
    entries = await audit.entries(
        backend.pool, editor, audit.Filters(programme_id=programme_id, object_type="api_key")
    )
    assert [e.action for e in entries] == ["api_key.revoked", "api_key.issued"]
    assert issued.secret.split("_")[-1] not in str([e.after for e in entries])


async def test_a_key_for_another_environment_or_an_unknown_partner_is_refused(
    backend: Backend, programme: ProgrammeConfig
) -> None:
    with pytest.raises(Invalid) as refused:
        await api_keys.issue(backend, CLI, programme.programme_id, "shop", "staging")
    assert list(refused.value.fields) == ["environment"]
    with pytest.raises(Invalid) as refused:
        await api_keys.issue(backend, CLI, programme.programme_id, "nobody", "production")
    assert list(refused.value.fields) == ["partner_id"]

"""Event types, rules and API clients through the service layer on the real Postgres and Kafka:
each change stored as a new version, audited with its before and after, and published as the
stored snapshot; a rule's versions read back as its history; an API client made as a hashed
credential the gateway accepts and a declaration in the snapshot, in one transaction, and
revoked at once; viewers and programmes not granted refused."""

import hashlib
from decimal import Decimal

import asyncpg
import pytest

from gateway.admin.programmes import snapshot_bytes
from gateway.admin.service import api_clients, audit, event_types, programmes, rules
from gateway.admin.service.backend import Backend
from gateway.admin.service.errors import Conflict, Forbidden, Invalid, NotFound
from gateway.errors import Unauthorized
from gateway.triggers import clients
from schemas.programme import EventType, Parameter, ProgrammeConfig
from tests.integration.admin.conftest import CLI, make_admin, published, version_of

pytestmark = pytest.mark.integration
BONUS = {"event_type": "purchase", "name": "Bonus", "points": "25", "trigger": "api",
         "budget_max": 100}  # fmt: skip


async def actions(pool: asyncpg.Pool, programme_id: str) -> list[tuple[str, str]]:
    entries = await audit.entries(pool, CLI, audit.Filters(programme_id=programme_id))
    return [(e.action, e.object_id) for e in reversed(entries)]


async def test_a_rule_from_draft_to_ended_is_versions_stored_audited_and_published(
    backend: Backend, programme: ProgrammeConfig, kafka_bootstrap: str, config_topic: str
) -> None:
    pid = programme.programme_id
    editor = (await make_admin(backend.pool, "editor", [pid])).actor()
    issued = await api_clients.create(backend, editor, pid, f"crm-{pid[-6:]}", "CRM",
                                      source="console")  # fmt: skip
    bonus = {**BONUS, "authorised_clients": [issued.client_id]}
    created = await rules.create(backend, editor, pid, "bonus", bonus, source="console",
                                 expected_version=2)  # fmt: skip
    edited = await rules.edit(backend, editor, pid, "bonus", {**bonus, "points": "30"},
                              source="api")  # fmt: skip
    same = await rules.edit(backend, editor, pid, "bonus", {**bonus, "points": "30"},
                            source="api")  # fmt: skip
    active = await rules.activate(backend, editor, pid, "bonus", source="console",
                                  expected_version=4)  # fmt: skip
    ended = await rules.end(backend, editor, pid, "bonus", source="console")
    assert [c.config.version for c in (created, edited, same, active, ended)] == [3, 4, 4, 5, 6]
    assert same.changed is False
    final = ended.config.rule("bonus")
    assert final is not None
    assert (final.version, final.status, final.points) == (2, "ended", Decimal(30))

    stored = await programmes.get(backend.pool, editor, pid)
    assert stored == ended.config
    snapshots = await published(kafka_bootstrap, config_topic, pid)
    assert [version_of(s) for s in snapshots] == [1, 2, 3, 4, 5, 6]
    assert snapshots[-1] == snapshot_bytes(stored)
    assert (await actions(backend.pool, pid))[-5:] == [
        ("api_client.created", issued.client_id), ("rule.created", "bonus"),
        ("rule.changed", "bonus"), ("rule.activated", "bonus"), ("rule.ended", "bonus"),
    ]  # fmt: skip
    (last, *_) = await audit.entries(backend.pool, editor, audit.Filters(programme_id=pid))
    assert {(d.path, d.before, d.after) for d in last.differences} == {
        ("status", "active", "ended")
    }

    history = await rules.history(backend.pool, editor, pid, "bonus")
    assert [(v.programme_version, v.rule and (v.rule.version, v.rule.status), v.source)
            for v in history] == [
        (6, (2, "ended"), "console"), (5, (2, "active"), "console"), (4, (2, "draft"), "api"),
        (3, (1, "draft"), "console"),
    ]  # fmt: skip
    assert history[-1].created
    assert {(d.path, d.before, d.after) for d in history[2].changes} == {
        ("version", 1, 2), ("points", "25", "30"),
    }  # fmt: skip
    with pytest.raises(Conflict, match="ended rules are history"):
        await rules.edit(backend, editor, pid, "bonus", bonus, source="console")
    with pytest.raises(NotFound):
        await rules.history(backend.pool, editor, pid, "nothing")


async def test_a_stale_or_invalid_rule_change_stores_nothing(
    backend: Backend, programme: ProgrammeConfig
) -> None:
    pid = programme.programme_id
    with pytest.raises(Conflict, match="changed meanwhile"):
        await rules.create(backend, CLI, pid, "late", {**BONUS, "trigger": "event"},
                           source="console", expected_version=7)  # fmt: skip
    with pytest.raises(Invalid) as refused:
        await rules.create(backend, CLI, pid, "no-client", BONUS, source="console")
    assert refused.value.fields == {
        "authorised_clients": ["an API-triggered rule needs at least one authorised client"]
    }
    assert (await programmes.get(backend.pool, CLI, pid)).version == 1


async def test_event_types_change_and_are_removed_only_unused(
    backend: Backend, programme: ProgrammeConfig
) -> None:
    pid = programme.programme_id
    typed = EventType(name="purchase", parameters=(Parameter(name="amount", type="float",
                                                             mandatory=True),))  # fmt: skip
    await event_types.put(backend, CLI, pid, typed, source="console")
    await event_types.put(backend, CLI, pid, EventType(name="review"), source="api")
    await rules.create(backend, CLI, pid, "per-ghs", {
        "event_type": "purchase", "points": "1", "points_type": "per_unit",
        "unit_field": "amount", "default": True}, source="console")  # fmt: skip
    with pytest.raises(Invalid) as refused:
        await event_types.put(backend, CLI, pid, EventType(name="purchase"), source="console")
    assert refused.value.general == [
        "rule per-ghs: unit_field: 'amount' is not a parameter of 'purchase'"
    ]
    with pytest.raises(Conflict, match="rule per-ghs \\(draft\\), partner shop"):
        await event_types.remove(backend, CLI, pid, "purchase", source="console")
    removed = await event_types.remove(backend, CLI, pid, "review", source="console")
    assert [e.name for e in removed.config.event_types] == ["purchase", "signup"]
    assert (await actions(backend.pool, pid))[-4:] == [
        ("event_type.changed", "purchase"), ("event_type.added", "review"),
        ("rule.created", "per-ghs"), ("event_type.removed", "review"),
    ]  # fmt: skip


async def test_an_api_client_is_a_hashed_credential_and_a_declaration(
    backend: Backend, programme: ProgrammeConfig
) -> None:
    pid = programme.programme_id
    client_id = f"app-{pid[-6:]}"
    issued = await api_clients.create(backend, CLI, pid, client_id, "App", source="api")
    row = await backend.pool.fetchrow(
        "SELECT secret_sha256, environment FROM api_clients WHERE client_id = $1", client_id
    )
    assert row is not None
    assert row["secret_sha256"] == hashlib.sha256(issued.secret.encode()).digest()
    config = await programmes.get(backend.pool, CLI, pid)
    assert (config.version, config.api_clients[-1].client_id) == (2, client_id)
    found = await clients.authenticate(backend.pool, client_id, issued.secret)
    assert (found.programme_id, found.environment) == (pid, "production")
    (entry, *_) = await audit.entries(backend.pool, CLI, audit.Filters(programme_id=pid))
    assert issued.secret not in str(entry.after)

    # A taken id refuses the whole creation: no credential, no new declaration.
    with pytest.raises(Conflict, match="is taken"):
        await api_clients.create(backend, CLI, programme.programme_id, client_id, source="api")
    assert (await programmes.get(backend.pool, CLI, pid)).version == 2

    await rules.create(backend, CLI, pid, "bonus",
                       {**BONUS, "authorised_clients": [client_id]}, source="api")  # fmt: skip
    (listed,) = [c for c in await api_clients.listed(backend.pool, CLI, pid)
                 if c.client_id == client_id]  # fmt: skip
    assert (listed.status, listed.declared, listed.rules) == ("active", True, (("bonus", "draft"),))

    await api_clients.revoke(backend, CLI, pid, client_id)
    await api_clients.revoke(backend, CLI, pid, client_id)  # again: nothing more
    with pytest.raises(Unauthorized):
        await clients.authenticate(backend.pool, client_id, issued.secret)
    assert [a for a in await actions(backend.pool, pid) if a[0].startswith("api_client")] == [
        ("api_client.created", client_id), ("api_client.revoked", client_id),
    ]  # fmt: skip


async def test_a_credential_made_by_the_cli_is_listed_undeclared(
    backend: Backend, programme: ProgrammeConfig
) -> None:
    pid = programme.programme_id
    await clients.create(backend.pool, f"cli-{pid[-6:]}", pid, "production")
    (listed,) = await api_clients.listed(backend.pool, CLI, pid)
    assert (listed.client_id, listed.declared, listed.status) == (f"cli-{pid[-6:]}", False,
                                                                   "active")  # fmt: skip


async def test_viewers_and_strangers_change_nothing(
    backend: Backend, programme: ProgrammeConfig
) -> None:
    pid = programme.programme_id
    viewer = (await make_admin(backend.pool, "viewer", [pid])).actor()
    stranger = (await make_admin(backend.pool, "editor", [])).actor()
    with pytest.raises(Forbidden):
        await rules.create(backend, viewer, pid, "x", BONUS, source="console")
    with pytest.raises(Forbidden):
        await api_clients.create(backend, viewer, pid, "viewer-app", source="console")
    with pytest.raises(Forbidden):
        await event_types.remove(backend, viewer, pid, "signup", source="console")
    with pytest.raises(NotFound):
        await rules.history(backend.pool, stranger, pid, "x")
    with pytest.raises(NotFound):
        await api_clients.listed(backend.pool, stranger, pid)
    assert (
        await backend.pool.fetchval(
            "SELECT count(*) FROM api_clients WHERE client_id = 'viewer-app'"
        )
        == 0
    )

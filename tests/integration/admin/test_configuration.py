"""Every change of a programme's configuration, from the console, the admin API or a file, is
stored as a new version with its origin, audited with the object before and after, and
published on the configuration topic as the stored snapshot; a file exported from it loads back
unchanged."""

import asyncio
from decimal import Decimal

import asyncpg
import pytest

from gateway.admin.programmes import snapshot_bytes
from gateway.admin.service import audit, event_types, partners, programmes
from gateway.admin.service.backend import Backend
from gateway.admin.service.errors import Conflict, Forbidden, Invalid, NotFound
from gateway.admin.service.snapshots import ProgrammeSettings, parse_yaml, settings_of
from schemas.programme import EventType, Partner, ProgrammeConfig, Tier
from tests.integration.admin.conftest import (
    CLI,
    fresh_id,
    make_admin,
    programme_data,
    published,
    version_of,
)

pytestmark = pytest.mark.integration


async def stored_text(pool: asyncpg.Pool, programme_id: str) -> str:
    text: str = await pool.fetchval(
        "SELECT config::text FROM programmes WHERE programme_id = $1", programme_id
    )
    return text


async def test_a_settings_change_is_stored_audited_and_published(
    backend: Backend, programme: ProgrammeConfig, kafka_bootstrap: str, config_topic: str
) -> None:
    editor = (await make_admin(backend.pool, "editor", [programme.programme_id])).actor()
    settings = settings_of(programme).model_copy(
        update={"time_zone": "Africa/Accra", "tiers": (Tier(name="Bronze", multiplier=Decimal(2)),)}
    )
    committed = await programmes.change_settings(
        backend, editor, programme.programme_id, settings, source="console",
        expected_version=1,
    )  # fmt: skip
    assert (committed.changed, committed.config.version) == (True, 2)
    stored = await programmes.get(backend.pool, editor, programme.programme_id)
    assert stored == committed.config
    assert stored.partners == programme.partners  # the rest of the snapshot is kept
    snapshots = await published(kafka_bootstrap, config_topic, programme.programme_id)
    assert [version_of(s) for s in snapshots] == [1, 2]
    assert snapshots[-1] == snapshot_bytes(stored)
    (entry, *_) = await audit.entries(
        backend.pool, editor, audit.Filters(programme_id=programme.programme_id)
    )
    assert (entry.actor, entry.action, entry.object_id) == (
        editor.label, "programme.settings_changed", programme.programme_id,
    )  # fmt: skip
    assert {d.path: (d.before, d.after) for d in entry.differences} == {
        "time_zone": ("UTC", "Africa/Accra"),
        "tiers[Bronze].multiplier": ("1", "2"),
        "tiers[Silver]": ({"name": "Silver", "multiplier": "1.5", "threshold_points": None}, None),
    }
    version = await backend.pool.fetchrow(
        "SELECT source, actor FROM programme_versions WHERE programme_id = $1 AND version = 2",
        programme.programme_id,
    )
    assert version is not None
    assert dict(version) == {"source": "console", "actor": editor.label}


async def test_the_same_change_from_the_console_or_a_file_is_the_same_snapshot(
    backend: Backend, kafka_bootstrap: str, config_topic: str
) -> None:
    """One programme changed in the console, its twin by loading the edited file: the same
    stored configuration and the same record on the topic (ids aside)."""
    console_id, file_id = fresh_id(), fresh_id()
    for programme_id in (console_id, file_id):
        config = ProgrammeConfig.model_validate(programme_data(programme_id))
        await programmes.load(backend, CLI, config, source_file="twin.yaml")
    partner = Partner(partner_id="cafe", multiplier=Decimal("1.25"), rate_limit_per_minute=7)
    await partners.put(backend, CLI, console_id, partner, source="console")
    edited = programme_data(file_id, version=2)
    edited["partners"] = [
        {"partner_id": "shop", "allowed_event_types": ["purchase"]},
        partner.model_dump(mode="json"),
    ]
    await programmes.load(
        backend, CLI, ProgrammeConfig.model_validate(edited), source_file="twin.yaml"
    )
    texts = [await stored_text(backend.pool, p) for p in (console_id, file_id)]
    assert texts[0].replace(console_id, file_id) == texts[1]
    records = [
        (await published(kafka_bootstrap, config_topic, p))[-1] for p in (console_id, file_id)
    ]
    assert records[0].replace(console_id.encode(), file_id.encode()) == records[1]


async def test_an_exported_programme_loads_back_unchanged_and_its_origin_is_kept(
    backend: Backend, programme: ProgrammeConfig
) -> None:
    programme_id = programme.programme_id
    exported = await programmes.export(backend.pool, CLI, programme_id)
    again = await programmes.load(backend, CLI, parse_yaml(exported), source_file="again.yaml")
    assert (again.changed, again.config.version) == (False, 1)
    provenance = await programmes.provenance(backend.pool, CLI, programme_id)
    assert provenance.from_file
    assert provenance.current is not None
    assert provenance.current.source_file == "shop.yaml"
    assert [d.path for d in provenance.file_changed][:2] == ["programme_id", "version"]
    await programmes.change_settings(
        backend, CLI, programme_id, settings_of(programme).model_copy(update={"name": "Shop"}),
        source="api",
    )  # fmt: skip
    provenance = await programmes.provenance(backend.pool, CLI, programme_id)
    assert not provenance.from_file
    assert provenance.current is not None
    assert provenance.current.source == "api"
    assert provenance.last_file is not None
    assert provenance.last_file.version == 1
    assert {d.path for d in provenance.changed_since_file} == {"version", "name"}


async def test_a_stale_file_or_form_is_refused_and_nothing_is_stored(
    backend: Backend, programme: ProgrammeConfig
) -> None:
    changed = programme.model_copy(update={"name": "other"})
    with pytest.raises(Conflict, match="raise `version`"):
        await programmes.load(backend, CLI, changed, source_file="stale.yaml")
    with pytest.raises(Conflict, match="changed meanwhile"):
        await programmes.change_settings(
            backend, CLI, programme.programme_id, ProgrammeSettings(), source="console",
            expected_version=7,
        )  # fmt: skip
    assert (await programmes.get(backend.pool, CLI, programme.programme_id)) == programme


async def test_an_invalid_change_is_refused_by_field(
    backend: Backend, programme: ProgrammeConfig
) -> None:
    with pytest.raises(Invalid) as refused:
        await partners.put(
            backend, CLI, programme.programme_id,
            Partner(partner_id="shop", allowed_event_types=("teleport",)), source="console",
        )  # fmt: skip
    assert refused.value.fields == {
        "allowed_event_types": ["'teleport' is not a declared event type"]
    }


async def test_an_add_form_does_not_replace_what_exists(
    backend: Backend, programme: ProgrammeConfig
) -> None:
    """The console's add forms pass `new`: an existing partner or event type is refused by
    field, under the configuration's lock, and nothing is stored."""
    before = await stored_text(backend.pool, programme.programme_id)
    with pytest.raises(Invalid) as partner_refused:
        await partners.put(
            backend, CLI, programme.programme_id, Partner(partner_id="shop"), source="console",
            new=True,
        )  # fmt: skip
    assert partner_refused.value.fields == {"partner_id": ["partner 'shop' exists already"]}
    with pytest.raises(Invalid) as type_refused:
        await event_types.put(
            backend, CLI, programme.programme_id, EventType(name="signup"), source="console",
            new=True,
        )  # fmt: skip
    assert type_refused.value.fields == {"name": ["event type 'signup' exists already"]}
    assert await stored_text(backend.pool, programme.programme_id) == before


async def test_a_viewer_changes_nothing_and_others_programmes_do_not_exist_for_an_admin(
    backend: Backend, programme: ProgrammeConfig
) -> None:
    viewer = (await make_admin(backend.pool, "viewer", [programme.programme_id])).actor()
    with pytest.raises(Forbidden):
        await programmes.change_settings(
            backend, viewer, programme.programme_id, ProgrammeSettings(), source="console"
        )
    stranger = (await make_admin(backend.pool, "editor", [])).actor()
    with pytest.raises(NotFound, match="unknown programme"):
        await programmes.get(backend.pool, stranger, programme.programme_id)
    assert programme.programme_id not in {
        p.programme_id for p in await programmes.visible(backend.pool, stranger)
    }
    assert await audit.entries(backend.pool, stranger, audit.Filters()) == []
    with pytest.raises(Forbidden, match="only an owner can create programmes"):
        await programmes.create(backend, stranger, fresh_id(), ProgrammeSettings(), source="api")


async def test_an_owner_creates_a_programme_from_nothing_and_is_granted_it(
    backend: Backend,
) -> None:
    owner = (await make_admin(backend.pool, "owner", [])).actor()
    programme_id = fresh_id()
    created = await programmes.create(backend, owner, programme_id, ProgrammeSettings(),
                                      source="console")  # fmt: skip
    assert created.version == 1
    with pytest.raises(Conflict, match="exists already"):
        await programmes.create(backend, owner, programme_id, ProgrammeSettings(), source="api")
    granted = await backend.pool.fetchval(
        "SELECT true FROM admin_grants WHERE admin_id = $1 AND programme_id = $2",
        owner.admin_id, programme_id,
    )  # fmt: skip
    assert granted


async def test_concurrent_changes_are_made_one_after_the_other(
    backend: Backend, programme: ProgrammeConfig, kafka_bootstrap: str, config_topic: str
) -> None:
    async def rate(limit: int) -> None:
        partner = Partner(partner_id=f"p{limit}", rate_limit_per_minute=limit)
        await partners.put(backend, CLI, programme.programme_id, partner, source="api")

    await asyncio.gather(*(rate(limit) for limit in range(1, 6)))
    stored = await programmes.get(backend.pool, CLI, programme.programme_id)
    assert (stored.version, len(stored.partners)) == (6, 6)
    snapshots = await published(kafka_bootstrap, config_topic, programme.programme_id)
    assert [version_of(s) for s in snapshots] == [1, 2, 3, 4, 5, 6]


async def test_the_audit_log_and_the_versions_are_append_only(
    backend: Backend, programme: ProgrammeConfig
) -> None:
    for statement in (
        "UPDATE audit_log SET actor = 'nobody' WHERE programme_id = $1",
        "DELETE FROM audit_log WHERE programme_id = $1",
        "DELETE FROM programme_versions WHERE programme_id = $1",
    ):
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await backend.pool.execute(statement, programme.programme_id)

"""Dead letters (stored by the console's feed, gateway.admin.service.dead_letter_feed): listed
with their reason, error and source (topic, partition, offset, time) and the original key and
value; replayed (the original bytes published to their source topic again, where they are
decided afresh: a letter whose cause was not fixed comes back as a new letter with the same
reason) or discarded. Each replay and discard is audited with the letter's status before and
after.

Who sees a letter: it belongs to the programme its original names (`programme_id`); an admin
sees the letters of their programmes, and letters naming no programme (bytes that are not even
an event) only with every programme granted. Changing one takes an editor of its programme
(an owner of every programme for a letter of none). A letter is replayed only to this system's
events or commands topic, whatever topic it names."""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

import asyncpg
from pydantic import JsonValue

from gateway.admin.service import audit
from gateway.admin.service.actors import Actor
from gateway.admin.service.backend import Backend
from gateway.admin.service.dead_letter_rows import Shown, shown
from gateway.admin.service.errors import Conflict, Forbidden, Invalid, NotFound
from gateway.admin.service.records import publishing_of

Status = Literal["new", "replayed", "discarded"]
STATUSES: tuple[Status, ...] = get_args(Status)
PAGE_MAX = 200


@dataclass(frozen=True, slots=True)
class Letter:
    dead_letter_id: int
    letter_topic: str
    letter_partition: int
    letter_offset: int
    letter_at: datetime | None
    reason: str
    error: str
    producer: str
    source_topic: str
    source_partition: int
    source_offset: int
    source_at: datetime | None
    original_key: bytes | None
    original_value: bytes | None
    programme_id: str | None
    status: Status
    handled_at: datetime | None
    handled_by: str | None
    replayed_partition: int | None
    replayed_offset: int | None
    received_at: datetime
    replay_of: int | None
    """The letter whose replay this one is (it failed again)."""
    replayed_as: int | None
    """The letter this one's replay became, if it failed again."""

    @property
    def key(self) -> Shown:
        return shown(self.original_key)

    @property
    def value(self) -> Shown:
        return shown(self.original_value)

    def audited(self) -> JsonValue:
        return {
            "dead_letter_id": self.dead_letter_id,
            "reason": self.reason,
            "source": f"{self.source_topic}/{self.source_partition}@{self.source_offset}",
            "status": self.status,
            "replayed_to": None
            if self.replayed_offset is None
            else f"{self.source_topic}/{self.replayed_partition}@{self.replayed_offset}",
        }


_SELECT = """
    SELECT d.*, p.dead_letter_id AS replay_of, n.dead_letter_id AS replayed_as
    FROM dead_letters d
    LEFT JOIN LATERAL (
        SELECT r.dead_letter_id FROM dead_letters r
        WHERE r.status = 'replayed' AND r.source_topic = d.source_topic
          AND r.replayed_partition = d.source_partition AND r.replayed_offset = d.source_offset
        ORDER BY r.dead_letter_id LIMIT 1) p ON true
    LEFT JOIN LATERAL (
        SELECT a.dead_letter_id FROM dead_letters a
        WHERE d.status = 'replayed' AND a.source_topic = d.source_topic
          AND a.source_partition = d.replayed_partition AND a.source_offset = d.replayed_offset
        ORDER BY a.dead_letter_id LIMIT 1) n ON true
"""


def _letter(row: asyncpg.Record) -> Letter:
    return Letter(**dict(row))


@dataclass(frozen=True, slots=True)
class Filters:
    status: Status | None = None
    programme_id: str | None = None
    reason: str | None = None
    before_id: int | None = None
    limit: int = 50


async def listed(pool: asyncpg.Pool, actor: Actor, filters: Filters) -> list[Letter]:
    """Newest first."""
    if filters.programme_id is not None:
        actor.require_visible(filters.programme_id)
    granted = None if actor.programmes is None else sorted(actor.programmes)
    rows = await pool.fetch(
        _SELECT
        + """
        WHERE ($1::text IS NULL OR d.status = $1)
          AND ($2::text IS NULL OR d.programme_id = $2)
          AND ($3::text IS NULL OR d.reason = $3)
          AND ($4::bigint IS NULL OR d.dead_letter_id < $4)
          AND ($5::text[] IS NULL OR d.programme_id = ANY($5))
        ORDER BY d.dead_letter_id DESC
        LIMIT $6""",
        filters.status,
        filters.programme_id,
        filters.reason,
        filters.before_id,
        granted,
        max(1, min(filters.limit, PAGE_MAX)),
    )
    return [_letter(row) for row in rows]


async def reasons(pool: asyncpg.Pool, actor: Actor) -> list[str]:
    """The reasons of the letters the actor sees, for a filter's choices."""
    granted = None if actor.programmes is None else sorted(actor.programmes)
    rows = await pool.fetch(
        "SELECT DISTINCT reason FROM dead_letters "
        "WHERE $1::text[] IS NULL OR programme_id = ANY($1) ORDER BY reason",
        granted,
    )
    return [row["reason"] for row in rows]


async def get(pool: asyncpg.Pool, actor: Actor, dead_letter_id: int) -> Letter:
    row = await pool.fetchrow(_SELECT + " WHERE d.dead_letter_id = $1", dead_letter_id)
    letter = None if row is None else _letter(row)
    if letter is None or not _sees(actor, letter):
        raise NotFound(f"no dead letter {dead_letter_id}")
    return letter


def _sees(actor: Actor, letter: Letter) -> bool:
    if letter.programme_id is None:
        return actor.programmes is None
    return actor.sees(letter.programme_id)


def require_changeable(actor: Actor, letter: Letter) -> None:
    if letter.programme_id is not None:
        actor.require_editor(letter.programme_id)
        return
    if actor.programmes is not None:
        raise Forbidden("a dead letter that names no programme is handled by an admin of all")
    if not actor.can_change:
        raise Forbidden(f"{actor.label} is a viewer: nothing can be changed")


async def replay(backend: Backend, actor: Actor, dead_letter_id: int) -> Letter:
    """Publishes the original key and value to the source topic (where they are decided again)
    and marks the letter replayed. Only a new letter, only to this system's topics."""
    publishing = publishing_of(backend.publishing)
    async with backend.pool.acquire() as connection, connection.transaction():
        before = await _locked(connection, actor, dead_letter_id)
        if before.source_topic not in publishing.replayable_topics:
            raise Invalid.field(
                "source_topic",
                f"{before.source_topic} is not a topic this console replays to "
                f"({', '.join(sorted(publishing.replayable_topics))})",
            )
        # Published while the letter is locked: a second replay waits, then finds it replayed.
        position = await publishing.records.publish(
            before.source_topic, before.original_key, before.original_value
        )
        await connection.execute(
            "UPDATE dead_letters SET status = 'replayed', handled_at = now(), handled_by = $2, "
            "replayed_partition = $3, replayed_offset = $4 WHERE dead_letter_id = $1",
            dead_letter_id, actor.label, position.partition, position.offset,
        )  # fmt: skip
        after = await _read(connection, dead_letter_id)
        await audit.record(
            connection, actor, audit.Action.DEAD_LETTER_REPLAYED, "dead_letter",
            str(dead_letter_id), before.programme_id, before.audited(), after.audited(),
        )  # fmt: skip
    return after


async def discard(backend: Backend, actor: Actor, dead_letter_id: int) -> Letter:
    """The letter stays listed, as discarded: nothing is published."""
    async with backend.pool.acquire() as connection, connection.transaction():
        before = await _locked(connection, actor, dead_letter_id)
        await connection.execute(
            "UPDATE dead_letters SET status = 'discarded', handled_at = now(), handled_by = $2 "
            "WHERE dead_letter_id = $1",
            dead_letter_id,
            actor.label,
        )
        after = await _read(connection, dead_letter_id)
        await audit.record(
            connection, actor, audit.Action.DEAD_LETTER_DISCARDED, "dead_letter",
            str(dead_letter_id), before.programme_id, before.audited(), after.audited(),
        )  # fmt: skip
    return after


async def _locked(connection: audit.Connection, actor: Actor, dead_letter_id: int) -> Letter:
    """The letter, locked, once the actor may change it and it is still new."""
    await connection.execute(
        "SELECT 1 FROM dead_letters WHERE dead_letter_id = $1 FOR UPDATE", dead_letter_id
    )
    letter = await _read(connection, dead_letter_id)
    if not _sees(actor, letter):
        raise NotFound(f"no dead letter {dead_letter_id}")
    require_changeable(actor, letter)
    if letter.status != "new":
        raise Conflict(
            f"dead letter {dead_letter_id} was {letter.status} by {letter.handled_by} already"
        )
    return letter


async def _read(connection: audit.Connection, dead_letter_id: int) -> Letter:
    row = await connection.fetchrow(_SELECT + " WHERE d.dead_letter_id = $1", dead_letter_id)
    if row is None:
        raise NotFound(f"no dead letter {dead_letter_id}")
    return _letter(row)

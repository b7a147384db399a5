"""The audit log: every change made through the service layer, written in the change's own
transaction (who, when, which object, its state before and after; never a secret), and read
back filtered by programme and object, newest first. Append-only: the database refuses UPDATE
and DELETE (deploy/migrations/0090_admin.sql)."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, TypeAlias

import asyncpg
import orjson
from asyncpg.pool import PoolConnectionProxy
from pydantic import JsonValue

from gateway.admin.service.actors import Actor
from gateway.admin.service.metrics import CHANGES
from gateway.admin.service.snapshots import Difference, differences

PAGE_MAX = 200


class Action(StrEnum):
    """Every kind of change; a new kind of change is a new member (and a panel series)."""

    PROGRAMME_CREATED = "programme.created"
    PROGRAMME_SETTINGS_CHANGED = "programme.settings_changed"
    PROGRAMME_LOADED = "programme.loaded"
    PARTNER_ADDED = "partner.added"
    PARTNER_CHANGED = "partner.changed"
    PARTNER_REMOVED = "partner.removed"
    API_KEY_ISSUED = "api_key.issued"
    API_KEY_REVOKED = "api_key.revoked"
    EVENT_TYPE_ADDED = "event_type.added"
    EVENT_TYPE_CHANGED = "event_type.changed"
    EVENT_TYPE_REMOVED = "event_type.removed"
    RULE_CREATED = "rule.created"
    RULE_CHANGED = "rule.changed"
    RULE_ACTIVATED = "rule.activated"
    RULE_ENDED = "rule.ended"
    API_CLIENT_CREATED = "api_client.created"
    API_CLIENT_REVOKED = "api_client.revoked"
    ADMIN_CREATED = "admin.created"
    ADMIN_GRANTED = "admin.granted"
    TOKEN_CREATED = "token.created"
    TOKEN_REVOKED = "token.revoked"
    USER_POINTS_ADJUSTED = "user.points_adjusted"
    USER_TIER_SET = "user.tier_set"
    DEAD_LETTER_REPLAYED = "dead_letter.replayed"
    DEAD_LETTER_DISCARDED = "dead_letter.discarded"
    OFFER_CREATED = "offer.created"
    OFFER_ENDED = "offer.ended"
    MYREWARDS_ROW_ADDED = "myrewards.row_added"
    MYREWARDS_ROW_CHANGED = "myrewards.row_changed"
    WEBHOOK_CREATED = "webhook.created"
    WEBHOOK_DEACTIVATED = "webhook.deactivated"
    WEBHOOK_DELIVERY_RETRIED = "webhook_delivery.retried"
    SHADOW_RUN_STARTED = "shadow_run.started"
    SHADOW_RUN_STOPPED = "shadow_run.stopped"


for _action in Action:
    CHANGES.labels(_action.value)

# A connection of its own or one of a pool's: asyncpg's proxy is generic for the type checker only.
if TYPE_CHECKING:
    Connection: TypeAlias = asyncpg.Connection | PoolConnectionProxy[asyncpg.Record]
else:
    Connection = asyncpg.Connection | PoolConnectionProxy


@dataclass(frozen=True, slots=True)
class Entry:
    audit_id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    programme_id: str | None
    before: JsonValue
    after: JsonValue

    @property
    def differences(self) -> list[Difference]:
        return differences(self.before, self.after)


async def record(
    connection: Connection,
    actor: Actor,
    action: Action,
    object_type: str,
    object_id: str,
    programme_id: str | None,
    before: JsonValue,
    after: JsonValue,
) -> int:
    """Inside the change's transaction: the change and its record commit together."""
    audit_id: int = await connection.fetchval(
        "INSERT INTO audit_log (actor, action, object_type, object_id, programme_id, before, "
        "after) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb) RETURNING audit_id",
        actor.label,
        action.value,
        object_type,
        object_id,
        programme_id,
        _json(before),
        _json(after),
    )
    CHANGES.labels(action.value).inc()
    return audit_id


def _json(value: JsonValue) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


@dataclass(frozen=True, slots=True)
class Filters:
    programme_id: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    before_id: int | None = None
    """Entries older than this one: the next page."""
    limit: int = 50


async def entries(pool: asyncpg.Pool, actor: Actor, filters: Filters) -> list[Entry]:
    """Newest first; an admin sees the entries of the programmes they are granted (entries of
    no programme, such as an admin's creation, only with every programme granted)."""
    if filters.programme_id is not None:
        actor.require_visible(filters.programme_id)
    granted = None if actor.programmes is None else sorted(actor.programmes)
    rows = await pool.fetch(
        """
        SELECT audit_id, at, actor, action, object_type, object_id, programme_id,
               before::text AS before, after::text AS after
        FROM audit_log
        WHERE ($1::text IS NULL OR programme_id = $1)
          AND ($2::text IS NULL OR object_type = $2)
          AND ($3::text IS NULL OR object_id = $3)
          AND ($4::bigint IS NULL OR audit_id < $4)
          AND ($5::text[] IS NULL OR programme_id = ANY($5))
        ORDER BY audit_id DESC
        LIMIT $6
        """,
        filters.programme_id,
        filters.object_type,
        filters.object_id,
        filters.before_id,
        granted,
        max(1, min(filters.limit, PAGE_MAX)),
    )
    return [
        Entry(
            audit_id=row["audit_id"],
            at=row["at"],
            actor=row["actor"],
            action=row["action"],
            object_type=row["object_type"],
            object_id=row["object_id"],
            programme_id=row["programme_id"],
            before=None if row["before"] is None else orjson.loads(row["before"]),
            after=None if row["after"] is None else orjson.loads(row["after"]),
        )
        for row in rows
    ]

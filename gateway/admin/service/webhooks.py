"""A programme's webhooks (gateway.webhooks): subscriptions created (the signing secret returned
once, never stored in the audit log), listed with their deliveries' counts, deactivated; the
deliveries listed with their status, attempts and last error, and a pending or failed one made
due now ("retry now"), which `loyalty-webhooks` then attempts once more. Each change is audited
in its own transaction. Subscriptions are credentials, not configuration: no snapshot changes.

A delivery being posted right now (its lease held by a dispatcher) is not retried: the post in
flight records its own result."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal, get_args

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, JsonValue

from gateway.admin.service import audit, programmes
from gateway.admin.service.actors import Actor
from gateway.admin.service.backend import Backend
from gateway.admin.service.errors import Conflict, Invalid, NotFound
from gateway.admin.service.snapshots import validated
from gateway.webhooks import subscriptions
from gateway.webhooks.wakeups import CHANNEL

EventType = subscriptions.EventType
EVENT_TYPES = subscriptions.KNOWN_EVENT_TYPES
"""Every webhook type, in the order the console offers them (`gateway.webhooks.subscriptions`)."""
DEFAULT_EVENT_TYPES = subscriptions.EVENT_TYPES
"""What a webhook created without naming types gets: the outcomes' and tier changes."""
DeliveryStatus = Literal["pending", "delivered", "failed"]
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = get_args(DeliveryStatus)
PAGE_MAX = 200


class NewWebhook(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    subscription_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")] = Field(
        description="Letters, digits, `_`, `.`, `-`; 64 at most."
    )
    url: HttpUrl = Field(description="Where the notifications are posted (http or https).")
    event_types: Annotated[tuple[EventType, ...], Field(min_length=1)] = Field(
        default=DEFAULT_EVENT_TYPES,
        description="What is notified, any of: "
        + ", ".join(EVENT_TYPES)
        + ". By default "
        + ", ".join(DEFAULT_EVENT_TYPES)
        + "; the points lifecycle's (expiring, expired, "
        "available, returned) only when named.",
    )


def parse(data: Mapping[str, object]) -> NewWebhook:
    return validated(NewWebhook, data)


@dataclass(frozen=True, slots=True)
class Webhook:
    subscription_id: str
    url: str
    event_types: tuple[str, ...]
    active: bool
    created_at: datetime
    pending: int
    failed: int
    delivered: int

    def audited(self) -> JsonValue:
        """The secret is never part of it."""
        return {
            "subscription_id": self.subscription_id,
            "url": self.url,
            "event_types": list(self.event_types),
            "active": self.active,
        }


@dataclass(frozen=True, slots=True)
class Created:
    webhook: Webhook
    secret: str
    """Shown this once: the receiver verifies the signature header with it."""


@dataclass(frozen=True, slots=True)
class Delivery:
    delivery_id: int
    subscription_id: str
    command_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_http_status: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None
    claimed_until: datetime | None
    claimed_by: str | None

    @property
    def retryable(self) -> bool:
        return self.status != "delivered"

    def audited(self) -> JsonValue:
        return {
            "delivery_id": self.delivery_id,
            "subscription_id": self.subscription_id,
            "status": self.status,
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at.isoformat(),
            "last_http_status": self.last_http_status,
        }


_WEBHOOKS = """
    SELECT s.subscription_id, s.url, s.event_types, s.active, s.created_at,
           count(*) FILTER (WHERE d.status = 'pending') AS pending,
           count(*) FILTER (WHERE d.status = 'failed') AS failed,
           count(*) FILTER (WHERE d.status = 'delivered') AS delivered
    FROM webhook_subscriptions s
    LEFT JOIN webhook_deliveries d USING (subscription_id)
    WHERE s.programme_id = $1 AND ($2::text IS NULL OR s.subscription_id = $2)
    GROUP BY s.subscription_id
    ORDER BY s.active DESC, s.created_at DESC, s.subscription_id"""

_DELIVERY_COLUMNS = """d.delivery_id, d.subscription_id, d.command_id, d.event_type, d.status,
    d.attempts, d.next_attempt_at, d.last_http_status, d.last_error, d.created_at, d.finished_at,
    d.claimed_until, d.claimed_by"""


def _webhook(row: asyncpg.Record) -> Webhook:
    values = dict(row)
    values["event_types"] = tuple(values["event_types"])
    return Webhook(**values)


async def listed(pool: asyncpg.Pool, actor: Actor, programme_id: str) -> list[Webhook]:
    """Active first, newest first, with their deliveries counted by status."""
    await programmes.get(pool, actor, programme_id)
    return [_webhook(row) for row in await pool.fetch(_WEBHOOKS, programme_id, None)]


@dataclass(frozen=True, slots=True)
class DeliveryFilters:
    subscription_id: str | None = None
    status: DeliveryStatus | None = None
    before_id: int | None = None
    limit: int = 50


async def deliveries(
    pool: asyncpg.Pool, actor: Actor, programme_id: str, filters: DeliveryFilters
) -> list[Delivery]:
    """Newest first."""
    await programmes.get(pool, actor, programme_id)
    rows = await pool.fetch(
        f"""SELECT {_DELIVERY_COLUMNS}
            FROM webhook_deliveries d JOIN webhook_subscriptions s USING (subscription_id)
            WHERE s.programme_id = $1
              AND ($2::text IS NULL OR d.subscription_id = $2)
              AND ($3::text IS NULL OR d.status = $3)
              AND ($4::bigint IS NULL OR d.delivery_id < $4)
            ORDER BY d.delivery_id DESC LIMIT $5""",
        programme_id,
        filters.subscription_id,
        filters.status,
        filters.before_id,
        max(1, min(filters.limit, PAGE_MAX)),
    )
    return [Delivery(**dict(row)) for row in rows]


async def create(backend: Backend, actor: Actor, programme_id: str, new: NewWebhook) -> Created:
    actor.require_editor(programme_id)
    await programmes.get(backend.pool, actor, programme_id)
    async with backend.pool.acquire() as connection, connection.transaction():
        try:
            secret = await subscriptions.create(
                connection, new.subscription_id, programme_id, str(new.url), new.event_types
            )
        except asyncpg.UniqueViolationError as exc:
            raise Invalid.field(
                "subscription_id", f"a webhook '{new.subscription_id}' exists already"
            ) from exc
        row = await connection.fetchrow(_WEBHOOKS, programme_id, new.subscription_id)
        assert row is not None  # inserted just now, in this transaction
        made = _webhook(row)
        await audit.record(
            connection, actor, audit.Action.WEBHOOK_CREATED, "webhook", new.subscription_id,
            programme_id, None, made.audited(),
        )  # fmt: skip
    return Created(made, secret)


async def deactivate(
    backend: Backend, actor: Actor, programme_id: str, subscription_id: str
) -> Webhook:
    """Nothing more is sent to it, its pending deliveries included; deactivating an inactive
    webhook changes nothing."""
    actor.require_editor(programme_id)
    await programmes.get(backend.pool, actor, programme_id)
    async with backend.pool.acquire() as connection, connection.transaction():
        await connection.execute(
            "SELECT 1 FROM webhook_subscriptions WHERE programme_id = $1 AND subscription_id = $2 "
            "FOR UPDATE",
            programme_id,
            subscription_id,
        )
        before = await _found(connection, programme_id, subscription_id)
        if not before.active:
            return before
        await connection.execute(
            "UPDATE webhook_subscriptions SET active = false WHERE subscription_id = $1",
            subscription_id,
        )
        after = await _found(connection, programme_id, subscription_id)
        await audit.record(
            connection, actor, audit.Action.WEBHOOK_DEACTIVATED, "webhook", subscription_id,
            programme_id, before.audited(), after.audited(),
        )  # fmt: skip
    return after


async def _found(connection: audit.Connection, programme_id: str, subscription_id: str) -> Webhook:
    row = await connection.fetchrow(_WEBHOOKS, programme_id, subscription_id)
    if row is None:
        raise NotFound(f"programme {programme_id} has no webhook '{subscription_id}'")
    return _webhook(row)


async def retry(backend: Backend, actor: Actor, programme_id: str, delivery_id: int) -> Delivery:
    """A pending or failed delivery made due now, and the dispatchers woken: `loyalty-webhooks`
    attempts it once more (a failed one that fails again stays failed)."""
    actor.require_editor(programme_id)
    await programmes.get(backend.pool, actor, programme_id)
    async with backend.pool.acquire() as connection, connection.transaction():
        before = await _delivery(connection, programme_id, delivery_id, lock=True)
        if not before.retryable:
            raise Conflict(f"delivery {delivery_id} was delivered already")
        held = await connection.fetchval(
            "SELECT claimed_until > now() FROM webhook_deliveries WHERE delivery_id = $1",
            delivery_id,
        )
        if held:
            raise Conflict(
                f"delivery {delivery_id} is being sent right now (by {before.claimed_by}); "
                "its result is recorded in a moment"
            )
        await connection.execute(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(), "
            "finished_at = NULL WHERE delivery_id = $1",
            delivery_id,
        )
        await connection.execute("SELECT pg_notify($1, '')", CHANNEL)
        after = await _delivery(connection, programme_id, delivery_id)
        await audit.record(
            connection, actor, audit.Action.WEBHOOK_DELIVERY_RETRIED, "webhook_delivery",
            str(delivery_id), programme_id, before.audited(), after.audited(),
        )  # fmt: skip
    return after


async def _delivery(
    connection: audit.Connection, programme_id: str, delivery_id: int, *, lock: bool = False
) -> Delivery:
    row = await connection.fetchrow(
        f"""SELECT {_DELIVERY_COLUMNS}
            FROM webhook_deliveries d JOIN webhook_subscriptions s USING (subscription_id)
            WHERE d.delivery_id = $1 AND s.programme_id = $2
            {"FOR UPDATE OF d" if lock else ""}""",
        delivery_id,
        programme_id,
    )
    if row is None:
        raise NotFound(f"programme {programme_id} has no webhook delivery {delivery_id}")
    return Delivery(**dict(row))

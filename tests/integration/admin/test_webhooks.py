"""Webhooks through the service layer on the real Postgres: created with a secret returned once
(never in the audit log), listed with their deliveries' counts; a delivery the ledger's outbox
made, failed, then retried now (due at once, the dispatchers woken, audited); a delivered one or
one being posted is not retried; deactivated once; viewers and other programmes refused."""

import asyncio
import uuid

import asyncpg
import pytest

from gateway.admin.service import audit, webhooks
from gateway.admin.service.backend import Backend
from gateway.admin.service.errors import Conflict, Forbidden, Invalid, NotFound
from gateway.webhooks.wakeups import CHANNEL
from ledger.core.batch import IncomingCommand
from ledger.repository import Batch, apply_batch
from schemas.ledger import LedgerCommand
from schemas.programme import ProgrammeConfig
from tests.integration.admin.conftest import CLI, make_admin

pytestmark = pytest.mark.integration


async def award(pool: asyncpg.Pool, programme_id: str, points: int) -> str:
    """A booked award, as the ledger writer books it: its outbox row is the delivery."""
    command_id = f"evt_{uuid.uuid4().hex}"
    command = LedgerCommand.model_validate(
        {"command_id": command_id, "programme_id": programme_id, "user_id": "usr_1",
         "bookings": [{"idempotency_key": command_id, "transaction_type": "Credit",
                       "variety": "Programme Points", "points": points, "reason": "test"}]}
    )  # fmt: skip
    async with pool.acquire() as connection:
        await apply_batch(connection, Batch((IncomingCommand.of(command),)))
    return command_id


async def test_a_webhook_is_created_with_its_secret_once_and_its_delivery_retried(
    backend: Backend, programme: ProgrammeConfig, postgres_url: str
) -> None:
    pid = programme.programme_id
    hook = f"hook-{uuid.uuid4().hex[:6]}"
    new = webhooks.parse({"subscription_id": hook, "url": "http://127.0.0.1:9/gone",
                          "event_types": ["points.awarded"]})  # fmt: skip
    made = await webhooks.create(backend, CLI, pid, new)
    assert made.secret.startswith("whsec_")
    assert (made.webhook.url, made.webhook.event_types, made.webhook.active) == (
        "http://127.0.0.1:9/gone", ("points.awarded",), True,
    )  # fmt: skip
    with pytest.raises(Invalid) as taken:
        await webhooks.create(backend, CLI, pid, new)
    assert "subscription_id" in taken.value.fields
    (created,) = await audit.entries(backend.pool, CLI, audit.Filters(pid, "webhook", hook))
    assert created.action == "webhook.created"
    assert made.secret not in str(created.after)

    command_id = await award(backend.pool, pid, 5)
    (delivery,) = await webhooks.deliveries(
        backend.pool, CLI, pid, webhooks.DeliveryFilters(subscription_id=hook)
    )
    assert (delivery.command_id, delivery.event_type, delivery.status) == (
        command_id, "points.awarded", "pending",
    )  # fmt: skip
    # As loyalty-webhooks records a final refusal.
    await backend.pool.execute(
        "UPDATE webhook_deliveries SET status = 'failed', attempts = 1, last_http_status = 410, "
        "last_error = 'gone', finished_at = now(), next_attempt_at = now() + interval '1 hour' "
        "WHERE delivery_id = $1",
        delivery.delivery_id,
    )
    (listed,) = [
        w for w in await webhooks.listed(backend.pool, CLI, pid) if w.subscription_id == hook
    ]
    assert (listed.pending, listed.failed, listed.delivered) == (0, 1, 0)

    woken: list[str] = []
    listener = await asyncpg.connect(postgres_url)
    await listener.add_listener(CHANNEL, lambda *args: woken.append(args[2]))
    try:
        retried = await webhooks.retry(backend, CLI, pid, delivery.delivery_id)
        assert (retried.status, retried.finished_at, retried.attempts) == ("pending", None, 1)
        assert retried.next_attempt_at <= await backend.pool.fetchval("SELECT now()")
        for _ in range(50):
            if woken:
                break
            await asyncio.sleep(0.05)
        assert woken == [CHANNEL]
    finally:
        await listener.close()
    (entry,) = await audit.entries(
        backend.pool, CLI, audit.Filters(pid, "webhook_delivery", str(delivery.delivery_id))
    )
    assert entry.action == "webhook_delivery.retried"
    assert {d.path for d in entry.differences} >= {"status", "next_attempt_at"}

    # Being posted now: the post in flight records its own result.
    await backend.pool.execute(
        "UPDATE webhook_deliveries SET claimed_until = now() + interval '30 seconds', "
        "claimed_by = 'elsewhere' WHERE delivery_id = $1",
        delivery.delivery_id,
    )
    with pytest.raises(Conflict):
        await webhooks.retry(backend, CLI, pid, delivery.delivery_id)
    await backend.pool.execute(
        "UPDATE webhook_deliveries SET status = 'delivered', claimed_until = NULL, "
        "claimed_by = NULL WHERE delivery_id = $1",
        delivery.delivery_id,
    )
    with pytest.raises(Conflict):
        await webhooks.retry(backend, CLI, pid, delivery.delivery_id)


async def test_a_webhook_is_deactivated_once_by_an_editor_of_its_programme(
    backend: Backend, programme: ProgrammeConfig
) -> None:
    pid = programme.programme_id
    hook = f"hook-{uuid.uuid4().hex[:6]}"
    await webhooks.create(backend, CLI, pid, webhooks.parse(
        {"subscription_id": hook, "url": "https://partner.example/hooks"}
    ))  # fmt: skip
    viewer = (await make_admin(backend.pool, "viewer", [pid])).actor()
    stranger = (await make_admin(backend.pool, "editor", [])).actor()
    with pytest.raises(Forbidden):
        await webhooks.deactivate(backend, viewer, pid, hook)
    with pytest.raises(NotFound):
        await webhooks.deactivate(backend, stranger, pid, hook)
    with pytest.raises(NotFound):
        await webhooks.listed(backend.pool, stranger, pid)
    done = await webhooks.deactivate(backend, CLI, pid, hook)
    assert done.active is False
    assert await webhooks.deactivate(backend, CLI, pid, hook) == done
    actions = await audit.entries(backend.pool, CLI, audit.Filters(pid, "webhook", hook))
    assert [e.action for e in actions] == ["webhook.deactivated", "webhook.created"]
    with pytest.raises(NotFound):
        await webhooks.retry(backend, CLI, pid, 10**12)
    with pytest.raises(Invalid) as refused:
        webhooks.parse({"subscription_id": "a b", "url": "ftp://x", "event_types": ["x"]})
    assert set(refused.value.fields) >= {"subscription_id", "url"}

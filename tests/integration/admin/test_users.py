"""Users through the service layer on the real Postgres and Kafka, with a real ledger writer
booking the commands it publishes: a manual credit booked and audited, a double submit booked
once, the same key with another adjustment refused, a debit the balance cannot cover refused
with the ledger's reason; transactions newest first, each explained by its stored outcome;
setting a tier publishes the `tier.assigned` record; the user's tier is the latest decided
assignment; viewers and admins of other programmes change nothing."""

import uuid

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from gateway.admin.service import adjustments, audit, users
from gateway.admin.service.adjustments import Adjustment
from gateway.admin.service.backend import Backend
from gateway.admin.service.errors import Conflict, Forbidden, Invalid, NotFound
from ledger.core.batch import IncomingCommand
from ledger.repository import Batch, apply_batch
from schemas.ledger import LedgerCommand, OutcomeStatus, RejectionReason, TransactionType
from schemas.programme import ProgrammeConfig
from tests.integration.admin.conftest import CLI, make_admin
from tests.integration.admin.publishing import (
    Topics,
    ledger_writer,
    people_backend,
    people_topics,
    publishing,
    quick_backend,
)

pytestmark = pytest.mark.integration
__all__ = ["ledger_writer", "people_backend", "people_topics", "publishing", "quick_backend"]


def credit(points: int, reason: str = "goodwill") -> Adjustment:
    return Adjustment(transaction_type=TransactionType.CREDIT, points=points, reason=reason)


def debit(points: int, reason: str = "correction") -> Adjustment:
    return Adjustment(transaction_type=TransactionType.DEBIT, points=points, reason=reason)


def new_user() -> str:
    return f"usr_{uuid.uuid4().hex[:10]}"


@pytest.mark.usefixtures("ledger_writer")
async def test_a_manual_credit_is_booked_through_the_ledger_once_and_audited(
    people_backend: Backend, programme: ProgrammeConfig
) -> None:
    user, key = new_user(), uuid.uuid4().hex
    pid = programme.programme_id
    first = await adjustments.adjust(people_backend, CLI, pid, user, credit(120), key)
    assert first.status == "booked", first
    assert first.outcome is not None
    assert first.outcome.balance_after == 120
    # The form submitted twice: the same command, booked once.
    again = await adjustments.adjust(people_backend, CLI, pid, user, credit(120), key)
    assert again.command_id == first.command_id
    assert again.status == "booked"
    found = await users.find(people_backend.pool, CLI, pid, user)
    assert (found.balance, found.known) == (120, True)
    # The same key with another amount is another request: refused, nothing booked.
    with pytest.raises(Conflict):
        await adjustments.adjust(people_backend, CLI, pid, user, credit(5), key)
    assert (await users.find(people_backend.pool, CLI, pid, user)).balance == 120

    entries = await audit.entries(people_backend.pool, CLI, audit.Filters(pid, "user", user))
    assert [e.action for e in entries] == ["user.points_adjusted"]
    assert entries[0].before == {"balance": 0}
    assert entries[0].after == {
        "user_id": user, "transaction_type": "Credit", "points": 120, "reason": "goodwill",
        "command_id": first.command_id,
    }  # fmt: skip


@pytest.mark.usefixtures("ledger_writer")
async def test_a_debit_the_balance_cannot_cover_is_refused_with_the_ledgers_reason(
    people_backend: Backend, programme: ProgrammeConfig
) -> None:
    user, pid = new_user(), programme.programme_id
    await adjustments.adjust(people_backend, CLI, pid, user, credit(50), uuid.uuid4().hex)
    refused = await adjustments.adjust(people_backend, CLI, pid, user, debit(80), uuid.uuid4().hex)
    assert refused.status == "rejected"
    assert refused.outcome is not None
    assert refused.outcome.reason_code is RejectionReason.INSUFFICIENT_POINTS
    taken = await adjustments.adjust(people_backend, CLI, pid, user, debit(30), None)
    assert taken.status == "booked"

    page = await users.transactions(people_backend.pool, CLI, pid, user)
    assert [(e.points, e.balance_after, e.variety) for e in page] == [
        (-30, 20, "Adjustment"), (50, 50, "Adjustment"),
    ]  # fmt: skip
    explained = await users.explained(people_backend.pool, CLI, pid, user, page[0].entry_id)
    assert explained.outcome is not None
    assert explained.outcome.status is OutcomeStatus.BOOKED
    assert isinstance(explained.outcome.explanation, dict)
    assert explained.outcome.explanation["by"] == CLI.label
    assert explained.outcome.explanation["reason"] == "correction"
    older = await users.transactions(
        people_backend.pool, CLI, pid, user, before_id=page[0].entry_id, limit=1
    )
    assert [e.entry_id for e in older] == [page[1].entry_id]


async def test_an_entry_is_explained_by_its_decision_and_only_on_its_users_page(
    people_backend: Backend, programme: ProgrammeConfig
) -> None:
    """A rule's award, booked as the processors send it: the explanation names every rule."""
    user, pid = new_user(), programme.programme_id
    event_id = f"evt_{uuid.uuid4().hex}"
    explanation = {
        "programme_version": 1, "event_type": "purchase", "tier": "Silver", "status": "awarded",
        "reason_code": "daily_cap", "reason": "rule 'buy': daily cap 20: cut from 30 to 20",
        "rules": [{"rule_id": "buy", "rule_version": 1, "outcome": "awarded", "detail": "matched",
                   "points": 20, "reason_code": "daily_cap", "reason": "daily cap 20"}],
    }  # fmt: skip
    command = LedgerCommand.model_validate(
        {
            "command_id": event_id, "programme_id": pid, "user_id": user,
            "source_event_id": event_id, "explanation": explanation,
            "bookings": [{"idempotency_key": f"{event_id}:buy", "transaction_type": "Credit",
                          "variety": "Programme Points", "points": 20,
                          "reason": "purchase earned with rule buy v1",
                          "lineage": {"source_event_id": event_id, "rule_id": "buy",
                                      "rule_version": 1}}],
        }
    )  # fmt: skip
    async with people_backend.pool.acquire() as connection:
        await apply_batch(connection, Batch((IncomingCommand.of(command),)))
    (entry,) = await users.transactions(people_backend.pool, CLI, pid, user)
    assert (entry.rule_id, entry.rule_version, entry.source_event_id) == ("buy", 1, event_id)
    explained = await users.explained(people_backend.pool, CLI, pid, user, entry.entry_id)
    assert explained.outcome is not None
    assert explained.outcome.explanation == explanation
    with pytest.raises(NotFound):
        await users.explained(people_backend.pool, CLI, pid, new_user(), entry.entry_id)


async def test_the_tier_is_the_latest_decided_assignment_and_setting_it_publishes_the_record(
    people_backend: Backend, quick_backend: Backend, programme: ProgrammeConfig,
    kafka_bootstrap: str, people_topics: Topics,
) -> None:  # fmt: skip
    user, pid = new_user(), programme.programme_id
    found = await users.find(people_backend.pool, CLI, pid, user)
    assert (found.tier.name, found.tier.assigned, found.known) == ("Bronze", None, False)

    # Set: the record is on the events topic, keyed by the user; nobody decides it here (no
    # processors run), so it is pending past the wait.
    done = await users.set_tier(quick_backend, CLI, pid, user, "Silver", "crm-1")
    assert done.status == "pending"
    record = await _last_record(kafka_bootstrap, people_topics.events, f"{pid}:{user}".encode())
    assert record["event_id"] == done.event_id
    assert (record["event_type"], record["metadata"]) == ("tier.assigned", {"tier": "Silver"})
    with pytest.raises(Invalid) as unknown:
        await users.set_tier(quick_backend, CLI, pid, user, "Platinum", None)
    assert "tier" in unknown.value.fields

    # The processors' decision, as they send it: the user's tier is now Silver.
    decided = LedgerCommand(
        command_id=done.event_id, programme_id=pid, user_id=user, source_event_id=done.event_id,
        explanation={"programme_version": 1, "event_type": "tier.assigned", "tier": "Silver",
                     "status": "no_points", "reason_code": "tier_assigned",
                     "reason": "tier set to 'Silver'", "rules": []},
    )  # fmt: skip
    async with people_backend.pool.acquire() as connection:
        await apply_batch(connection, Batch((IncomingCommand.of(decided),)))
    found = await users.find(people_backend.pool, CLI, pid, user)
    assert found.tier.name == "Silver"
    assert found.tier.assigned is not None
    assert found.tier.assigned.command_id == done.event_id
    assert found.known
    actions = await audit.entries(people_backend.pool, CLI, audit.Filters(pid, "user", user))
    assert [(e.action, e.before, e.after) for e in actions] == [
        ("user.tier_set", {"tier": "Bronze"}, {"tier": "Silver", "event_id": done.event_id})
    ]


async def test_viewers_and_other_programmes_admins_change_no_user(
    people_backend: Backend, programme: ProgrammeConfig
) -> None:
    pid, user = programme.programme_id, new_user()
    viewer = await make_admin(people_backend.pool, "viewer", [pid])
    stranger = await make_admin(people_backend.pool, "editor", [])
    viewer_actor, stranger_actor = viewer.actor(), stranger.actor()
    assert (await users.find(people_backend.pool, viewer_actor, pid, user)).balance == 0
    with pytest.raises(Forbidden):
        await adjustments.adjust(people_backend, viewer_actor, pid, user, credit(1), None)
    with pytest.raises(Forbidden):
        await users.set_tier(people_backend, viewer_actor, pid, user, "Silver", None)
    with pytest.raises(NotFound):
        await users.find(people_backend.pool, stranger_actor, pid, user)
    with pytest.raises(NotFound):
        await adjustments.adjust(people_backend, stranger_actor, pid, user, credit(1), None)


async def _last_record(bootstrap: str, topic: str, key: bytes) -> dict[str, object]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
        enable_auto_commit=False,
    )  # fmt: skip
    await consumer.start()
    try:
        found: list[dict[str, object]] = []
        for _ in range(20):
            batch = await consumer.getmany(timeout_ms=500)
            found += [orjson.loads(r.value) for rs in batch.values() for r in rs
                      if r.key == key and r.value]  # fmt: skip
            if found and not batch:
                break
        assert found, f"no record keyed {key!r} on {topic}"
        return found[-1]
    finally:
        await consumer.stop()

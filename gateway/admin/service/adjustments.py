"""A manual adjustment of a user's points: a Credit or a Debit of variety Adjustment (between the
user's account and the programme's budget) with a reason, booked through the ledger as one
ledger command on the commands topic, exactly as a MyRewards points transaction is
(gateway.myrewards.transactions). The ledger decides: a debit the user cannot cover is refused
with its reason (`insufficient_points`), a credit a funded budget cannot cover too.

Idempotent: the command id is derived from the programme, the user and a one-time key (the
form carries one, the admin API takes `Idempotency-Key`), so a double submit publishes the same
command, which the ledger books once; the same key with another adjustment is refused. The
request is audited before it is published (gateway.admin.service.once)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from gateway.admin.service import audit, programmes
from gateway.admin.service.actors import Actor
from gateway.admin.service.backend import Backend
from gateway.admin.service.errors import Conflict
from gateway.admin.service.once import audited_once
from gateway.admin.service.records import publishing_of
from gateway.admin.service.snapshots import validated
from gateway.admin.service.users import user_id_of
from ledger import reads
from schemas import topics
from schemas.events import scoped_id
from schemas.ledger import (
    Booking,
    CommandOutcome,
    LedgerCommand,
    OutcomeStatus,
    Points,
    TransactionType,
    Variety,
)

COMMAND_PREFIX = "console-adjustment:"
KEY_LENGTH_MAX = 256


class Adjustment(BaseModel):
    """What an admin asks for (a form's fields, the admin API's body)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    transaction_type: TransactionType = Field(
        description="Credit gives the user points, Debit takes them."
    )
    points: Points = Field(description="How many, more than 0.")
    reason: Annotated[str, Field(min_length=1, max_length=250)] = Field(
        description="Why, in words: the journal entry's reason, shown in the user's transactions."
    )


def parse(data: Mapping[str, object]) -> Adjustment:
    """From a form or a body; Invalid by field."""
    return validated(Adjustment, data)


def command_id_for(programme_id: str, user_id: str, key: str | None) -> str:
    """Deterministic with a one-time key (`key`); a new id without one."""
    return scoped_id(COMMAND_PREFIX, (programme_id, user_id), key, separator="\x00", length=40)


def command_for(
    programme_id: str, user_id: str, adjustment: Adjustment, command_id: str, actor: Actor
) -> LedgerCommand:
    """No clock in the command: a double submit builds the same one. Who asked is in the
    explanation (stored with the outcome, not compared between repeats) and the audit log."""
    booking = Booking(
        idempotency_key=command_id,
        transaction_type=adjustment.transaction_type,
        variety=Variety.ADJUSTMENT,
        points=adjustment.points,
        reason=adjustment.reason,
    )
    explanation: JsonValue = {
        "source": "console",
        "action": "manual adjustment",
        "by": actor.label,
        "reason": adjustment.reason,
    }
    return LedgerCommand(
        command_id=command_id,
        programme_id=programme_id,
        user_id=user_id,
        bookings=[booking],
        explanation=explanation,
    )


def requested(user_id: str, adjustment: Adjustment, command_id: str) -> dict[str, JsonValue]:
    """The audit entry's `after`: what was asked (the ledger's outcome says what was done)."""
    return {
        "user_id": user_id,
        "transaction_type": adjustment.transaction_type.value,
        "points": adjustment.points,
        "reason": adjustment.reason,
        "command_id": command_id,
    }


@dataclass(frozen=True, slots=True)
class Adjusted:
    command_id: str
    outcome: CommandOutcome | None
    """The ledger's outcome: booked (or duplicate: booked before), rejected with its reason;
    None while it is not known (the ledger has not booked it within the wait)."""

    @property
    def status(self) -> Literal["booked", "rejected", "pending"]:
        if self.outcome is None:
            return "pending"
        return "rejected" if self.outcome.status is OutcomeStatus.REJECTED else "booked"


async def adjust(
    backend: Backend,
    actor: Actor,
    programme_id: str,
    user_id: str,
    adjustment: Adjustment,
    key: str | None,
) -> Adjusted:
    actor.require_editor(programme_id)
    publishing = publishing_of(backend.publishing)
    await programmes.get(backend.pool, actor, programme_id)
    user_id = user_id_of(user_id)
    command_id = command_id_for(programme_id, user_id, key)
    command = command_for(programme_id, user_id, adjustment, command_id, actor)
    balance = await reads.get_balance(backend.pool, programme_id, user_id)
    async with backend.pool.acquire() as connection, connection.transaction():
        await audited_once(
            connection, actor, audit.Action.USER_POINTS_ADJUSTED, "user", user_id, programme_id,
            {"balance": balance}, requested(user_id, adjustment, command_id), "command_id",
        )  # fmt: skip
    record_key = topics.user_key(programme_id, user_id)
    value = command.model_dump_json().encode()
    outcome = await publishing.outcomes.after(
        command_id,
        programme_id,
        lambda: publishing.records.publish(publishing.commands_topic, record_key, value),
        look_first=key is not None,
    )
    if outcome is not None and key is not None:
        stored = await reads.stored_command_digest(backend.pool, command_id)
        if stored is not None and stored != reads.command_digest(command):
            raise Conflict("the one-time key was used for another adjustment")
    return Adjusted(command_id, outcome)

"""A programme's users as the console shows them: balance, tier and transactions, each entry
with its explanation ("why these points?"), read through `ledger.reads`; a manual adjustment
(gateway.admin.service.adjustments) and setting a tier change them.

A user exists for the engine as soon as an event names them: there is no user table to find
them in. A user the ledger has never booked for, and who was never assigned a tier, is shown
with a balance of 0 in the default tier (`known` False), so that a tier can be set or points
credited before their first event.

The tier: the processors hold it in their state, which nothing outside them reads. What is
stored is every decision, and a `tier.assigned` decision names the tier it set: the user's tier
is the one of their latest decided assignment, or the programme's default tier. A tier the
programme no longer has is shown as assigned, with that said (the engine then earns with the
default tier)."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal

import asyncpg
from pydantic import StringConstraints, TypeAdapter, ValidationError

from gateway.admin import tiers
from gateway.admin.service import audit, programmes
from gateway.admin.service.actors import Actor
from gateway.admin.service.backend import Backend
from gateway.admin.service.errors import Invalid, NotFound
from gateway.admin.service.once import audited_once
from gateway.admin.service.records import publishing_of
from ledger import reads
from schemas import topics
from schemas.events import Identifier
from schemas.ledger import CommandOutcome
from schemas.programme import ProgrammeConfig
from schemas.reasons import ReasonCode

PAGE_DEFAULT = 50
# A slash could not be part of the pages' and the API's paths.
_USER_ID: TypeAdapter[str] = TypeAdapter(
    Annotated[Identifier, StringConstraints(pattern=r"^[^/]+$")]
)


@dataclass(frozen=True, slots=True)
class UserTier:
    name: str
    assigned: reads.TierAssignment | None
    """The decision that set it (by hand, by points or by the tier policy's review), with its
    reason and review day; None: the programme's default tier, never changed."""
    known_tier: bool
    """False when the programme no longer has the assigned tier."""


@dataclass(frozen=True, slots=True)
class User:
    programme_id: str
    user_id: str
    balance: int
    tier: UserTier
    known: bool
    """The ledger has booked for the user, or a tier was assigned."""
    tier_changes: tuple[reads.TierChangeRow, ...] = ()
    """The latest changes of the user's tier, newest first, each with its reason."""
    holdings: reads.Holdings | None = None
    """What of the balance can be spent, what expires next and the points held as pending (not
    in the balance); None for a user the ledger never booked for."""


@dataclass(frozen=True, slots=True)
class Explained:
    entry: reads.UserEntry
    outcome: CommandOutcome | None
    """The outcome of the command that booked the entry: the decision's explanation."""


TIER_CHANGES = 20
"""The tier changes a user's page shows."""


def user_id_of(text: str) -> str:
    """A user id as events carry it (1 to 128 characters, no slash); Invalid else."""
    try:
        return _USER_ID.validate_python(text)
    except ValidationError as exc:
        raise Invalid.field("user_id", "a user id is 1 to 128 characters, without '/'") from exc


async def find(pool: asyncpg.Pool, actor: Actor, programme_id: str, user_id: str) -> User:
    config = await programmes.get(pool, actor, programme_id)
    user_id = user_id_of(user_id)
    holdings = await reads.find_holdings(pool, programme_id, user_id)
    assigned = await reads.assigned_tier(pool, programme_id, user_id)
    tier = tier_of(config, assigned)
    known = holdings is not None or assigned is not None
    changes = tuple(await reads.tier_changes(pool, programme_id, user_id, limit=TIER_CHANGES))
    balance = 0 if holdings is None else holdings.balance
    return User(programme_id, user_id, balance, tier, known, changes, holdings)


def tier_of(config: ProgrammeConfig, assigned: reads.TierAssignment | None) -> UserTier:
    if assigned is None:
        return UserTier(config.default_tier, None, known_tier=True)
    names = {tier.name for tier in config.tiers}
    return UserTier(assigned.tier, assigned, known_tier=assigned.tier in names)


async def transactions(
    pool: asyncpg.Pool,
    actor: Actor,
    programme_id: str,
    user_id: str,
    *,
    before_id: int | None = None,
    limit: int = PAGE_DEFAULT,
) -> list[reads.UserEntry]:
    """Newest first, `limit` (at most `reads.ENTRIES_PAGE_MAX`) older than `before_id`."""
    actor.require_visible(programme_id)
    limit = max(1, min(limit, reads.ENTRIES_PAGE_MAX))
    return await reads.user_entries(
        pool, programme_id, user_id_of(user_id), before_id=before_id, limit=limit
    )


async def explained(
    pool: asyncpg.Pool, actor: Actor, programme_id: str, user_id: str, entry_id: int
) -> Explained:
    actor.require_visible(programme_id)
    entry = await reads.user_entry(pool, programme_id, user_id_of(user_id), entry_id)
    if entry is None:
        raise NotFound(f"user {user_id} of {programme_id} has no transaction {entry_id}")
    outcome = await reads.get_outcome(pool, entry.command_id, programme_id=programme_id)
    return Explained(entry, outcome)


@dataclass(frozen=True, slots=True)
class TierSet:
    event_id: str
    tier: str
    outcome: CommandOutcome | None
    """The decision of the `tier.assigned` record; None while it is not decided yet."""

    @property
    def status(self) -> Literal["set", "refused", "pending"]:
        """`refused`: decided, but not as an assignment (the tier left the programme meanwhile:
        the outcome's reason says so)."""
        if self.outcome is None:
            return "pending"
        explained = self.outcome.explanation
        code = explained.get("reason_code") if isinstance(explained, dict) else None
        return "set" if code == ReasonCode.TIER_ASSIGNED else "refused"


async def set_tier(
    backend: Backend,
    actor: Actor,
    programme_id: str,
    user_id: str,
    tier: str,
    reference: str | None,
) -> TierSet:
    """Publishes a `tier.assigned` record, as `loyalty-admin set-tier` does, and waits for its
    decision. `reference` (a form's one-time key) makes it idempotent: the same reference
    again publishes the same event, which the processors recognise."""
    actor.require_editor(programme_id)
    publishing = publishing_of(backend.publishing)
    config = await programmes.get(backend.pool, actor, programme_id)
    user_id = user_id_of(user_id)
    try:
        event = tiers.tier_event(config, user_id, tier, reference, datetime.now(UTC))
    except tiers.UnknownTier as exc:
        raise Invalid.field("tier", str(exc)) from exc
    current = tier_of(config, await reads.assigned_tier(backend.pool, programme_id, user_id))
    async with backend.pool.acquire() as connection, connection.transaction():
        await audited_once(
            connection, actor, audit.Action.USER_TIER_SET, "user", user_id, programme_id,
            {"tier": current.name}, {"tier": tier, "event_id": event.event_id}, "event_id",
        )  # fmt: skip
    key = topics.user_key(programme_id, user_id)
    value = event.model_dump_json().encode()
    outcome = await publishing.outcomes.after(
        event.event_id,
        programme_id,
        lambda: publishing.records.publish(publishing.events_topic, key, value),
        look_first=reference is not None,
    )
    return TierSet(event.event_id, tier, outcome)

"""A re-base's plan, pure: event by event and rule by rule, what the candidate gives against what
the journal holds (the decision's entry and any earlier correction), and the ledger command that
books each difference as an entry of variety Adjustment.

Idempotent by construction: a correction's command id (also its booking's key) is derived from
the programme, the candidate's version, the event, the rule and the points the journal held when
it was planned. Planned again after it was booked, the journal already holds the candidate's
points: there is nothing to correct. Published twice before the ledger booked it (two runs at
once), both carry the same id and the ledger books it once.

Only events the ledger booked live are corrected: one it refused (a budget, a balance) has no
points to correct, and the backtest's "of events the ledger booked" totals are the same events.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from pydantic import JsonValue

from ledger.reads import BookedForRule
from processors.engine import Decision
from schemas.events import EventV1, scoped_id
from schemas.ledger import Booking, LedgerCommand, Lineage, TransactionType, Variety

COMMAND_PREFIX: Final = "rebase:"


@dataclass(frozen=True, slots=True)
class Correction:
    event_id: str
    user_id: str
    occurred_at: datetime
    rule_id: str
    rule_version: int | None
    """The candidate's version of the rule (None: the candidate gives nothing by it)."""
    booked: int
    """Net points the journal holds for the event and rule (signed: redemptions negative)."""
    candidate: int
    corrects_entry_id: int | None
    """The decision's own entry (None: it booked nothing for this rule)."""

    @property
    def points(self) -> int:
        """Signed: what the correction credits (> 0) or debits (< 0)."""
        return self.candidate - self.booked


@dataclass
class Plan:
    programme_id: str
    candidate_version: int
    since: datetime
    until: datetime
    corrections: list[Correction] = field(default_factory=list)
    events: int = 0
    """Window events the ledger booked live (each compared)."""
    refused_live: int = 0
    """Window events the ledger refused live: not corrected."""

    @property
    def net_points(self) -> int:
        return sum(correction.points for correction in self.corrections)

    def by_user(self) -> dict[str, int]:
        """Net correction by user."""
        found: dict[str, int] = {}
        for correction in self.corrections:
            found[correction.user_id] = found.get(correction.user_id, 0) + correction.points
        return found

    def negative_balances(self, balances: Mapping[str, int]) -> dict[str, int]:
        """The users whose balance (now, `balances`) the plan would take below zero, with the
        balance it would leave them."""
        after = {user: balances.get(user, 0) + net for user, net in self.by_user().items()}
        return {user: balance for user, balance in sorted(after.items()) if balance < 0}

    def add(self, event: EventV1, decision: Decision, booked: Mapping[str, BookedForRule]) -> None:
        """One window event the ledger booked live: its candidate decision against the journal."""
        self.events += 1
        self.corrections.extend(corrections_of(event, decision, booked))


def corrections_of(
    event: EventV1, decision: Decision, booked: Mapping[str, BookedForRule]
) -> Iterable[Correction]:
    candidate = {award.rule_id: award for award in decision.awards}
    for rule_id in sorted(set(candidate) | set(booked)):
        award = candidate.get(rule_id)
        held = booked.get(rule_id, BookedForRule(0, None))
        points = 0 if award is None else award.signed_points
        if points != held.points:
            yield Correction(
                event.event_id, event.user_id, event.occurred_at, rule_id,
                None if award is None else award.rule_version, held.points, points,
                held.entry_id,
            )  # fmt: skip


def command_id_of(programme_id: str, candidate_version: int, correction: Correction) -> str:
    scope = (programme_id, candidate_version, correction.event_id, correction.rule_id)
    return scoped_id(COMMAND_PREFIX, scope, str(correction.booked), length=40)


def command_of(
    programme_id: str,
    candidate_version: int,
    correction: Correction,
    *,
    allow_negative: bool = False,
) -> LedgerCommand:
    """One correction as a ledger command: a Credit or Debit of variety Adjustment between the
    user and the programme's budget, naming the event, rule and corrected entry (its lineage,
    reason and explanation) and the candidate version. `allow_negative`: a debit may take the
    user's balance below zero (`Booking.allow_negative`), which the ledger then books."""
    command_id = command_id_of(programme_id, candidate_version, correction)
    points = correction.points
    entry = correction.corrects_entry_id
    corrected = f"entry {entry}" if entry is not None else f"event {correction.event_id}"
    reason = (
        f"re-base to version {candidate_version}: rule {correction.rule_id} on {corrected}, "
        f"{correction.booked} -> {correction.candidate} points"
    )
    booking = Booking(
        idempotency_key=command_id,
        transaction_type=TransactionType.CREDIT if points > 0 else TransactionType.DEBIT,
        variety=Variety.ADJUSTMENT,
        points=abs(points),
        reason=reason[:250],
        lineage=Lineage(
            source_event_id=correction.event_id,
            rule_id=correction.rule_id,
            rule_version=correction.rule_version,
            occurred_at=correction.occurred_at,
        ),
        allow_negative=allow_negative and points < 0,
    )
    explanation: JsonValue = {
        "source": "rebase",
        "candidate_version": candidate_version,
        "event_id": correction.event_id,
        "rule_id": correction.rule_id,
        "corrects_entry_id": entry,
        "booked": correction.booked,
        "candidate": correction.candidate,
    }
    return LedgerCommand(
        command_id=command_id,
        programme_id=programme_id,
        user_id=correction.user_id,
        bookings=[booking],
        explanation=explanation,
    )


def in_booking_order(corrections: Iterable[Correction]) -> list[Correction]:
    """Each user's credits before their debits (one user's commands keep their order on the
    commands topic), so a debit finds the credits of the same plan already booked."""
    return sorted(corrections, key=lambda correction: correction.points < 0)

"""Builders for commands, and an in-memory store that keeps what the planner decides."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from ledger.core.accounts import AccountKey, AccountKind, ProgrammePolicy
from ledger.core.batch import (
    BatchPlan,
    IncomingCommand,
    LedgerSnapshot,
    OriginalKey,
    Outcome,
    RuleKey,
    StoredEntry,
    StoredOutcome,
)
from ledger.core.budgets import award_rule_id, needed_rule_usage
from ledger.core.lots import Lots
from ledger.core.pending import Pending
from ledger.core.planner import needed_accounts, plan_batch
from ledger.core.returns import Original, OriginalAward
from schemas.ledger import (
    Booking,
    LedgerCommand,
    Lineage,
    OutcomeStatus,
    TransactionType,
    Variety,
)

RECORDED_AT = datetime(2025, 1, 1, tzinfo=UTC)


def booking(
    key: str,
    points: int,
    *,
    debit: bool = False,
    variety: Variety = Variety.PROGRAMME_POINTS,
    counterparty: str | None = None,
    reverses: str | None = None,
    rule: str | None = None,
    user: str | None = None,
) -> Booking:
    return Booking(
        idempotency_key=key,
        transaction_type=TransactionType.DEBIT if debit else TransactionType.CREDIT,
        variety=variety,
        points=points,
        reason=f"{variety} {points}",
        counterparty_user_id=counterparty,
        reverses=reverses,
        lineage=Lineage(rule_id=rule, rule_version=None if rule is None else 1),
        user_id=user,
    )


def command(
    command_id: str, user_id: str, *bookings: Booking, programme_id: str = "prog"
) -> IncomingCommand:
    return IncomingCommand.of(
        LedgerCommand(
            command_id=command_id,
            programme_id=programme_id,
            user_id=user_id,
            bookings=list(bookings),
            explanation={"rules": [command_id]},
        )
    )


@dataclass
class MemoryLedger:
    """Stores plans the way the repository does, without a database."""

    programmes: dict[str, ProgrammePolicy] = field(
        default_factory=lambda: {"prog": ProgrammePolicy(funded=False)}
    )
    balances: dict[AccountKey, int] = field(default_factory=dict)
    outcomes: dict[str, StoredOutcome] = field(default_factory=dict)
    entries: dict[str, StoredEntry] = field(default_factory=dict)
    rule_usage: dict[RuleKey, int] = field(default_factory=dict)
    """Rows of `ledger.rule_budget_usage`: created (at 0) when a batch first names the rule."""
    lots: dict[AccountKey, Lots] = field(default_factory=dict)
    """The accounts' `lots` column (absent: NULL)."""
    pending: dict[AccountKey, Pending] = field(default_factory=dict)
    """The accounts' `pending` column (absent: NULL)."""
    amounts: dict[str, Decimal] = field(default_factory=dict)
    """Each original's amount by event id (the archive's `metadata[field]`)."""
    returned: dict[OriginalKey, Decimal] = field(default_factory=dict)
    """ledger.returns, summed per original."""
    formed: dict[str, Lots | None] = field(default_factory=dict)
    """The entries' `credit_lots`."""
    booked: dict[str, Booking] = field(default_factory=dict)
    """Each entry's booking, by its key."""

    def apply(self, *commands: IncomingCommand) -> list[Outcome]:
        for key in needed_accounts(commands, self.programmes):
            self.balances.setdefault(key, 0)
        usage_keys = needed_rule_usage(commands, self.programmes, self.entries)
        for rule_key in usage_keys:
            self.rule_usage.setdefault(rule_key, 0)
        snapshot = LedgerSnapshot(
            self.programmes,
            dict(self.balances),
            dict(self.outcomes),
            dict(self.entries),
            {key: self.rule_usage[key] for key in usage_keys},
            dict(self.lots),
            dict(self.pending),
            self._originals(commands),
        )
        plan = plan_batch(commands, snapshot, RECORDED_AT)
        self._store(plan)
        return [planned.outcome for planned in plan.outcomes]

    def _originals(self, commands: Sequence[IncomingCommand]) -> dict[OriginalKey, Original]:
        """What `ledger.returning.load_originals` reads, from what the memory holds."""
        originals = {}
        for incoming in commands:
            command, request = incoming.command, incoming.command.returning
            if request is None:
                continue
            key = (command.programme_id, command.user_id, request.original_event_id)
            stored = self.outcomes.get(request.original_event_id)
            user = AccountKey.user(command.programme_id, command.user_id)
            awards = tuple(
                OriginalAward(k, e.award_rule_id, e.points, 0, self.formed.get(k))
                for k in sorted(request.award_keys)
                if (e := self.entries.get(k)) is not None and e.award_rule_id and _held_for(e, user)
            )
            booked = stored is not None and stored.outcome.status is not OutcomeStatus.REJECTED
            amount = self.amounts.get(request.original_event_id)
            originals[key] = Original(booked, awards, amount, self.returned.get(key, Decimal(0)))
        return originals

    def _store(self, plan: BatchPlan) -> None:
        for planned_return in plan.returns:
            key = (planned_return.programme_id, planned_return.user_id,
                   planned_return.original_event_id)  # fmt: skip
            self.returned[key] = self.returned.get(key, Decimal(0)) + planned_return.amount
        self.balances.update(plan.balances)
        for key in plan.balances:
            if key in plan.lots:
                self.lots[key] = plan.lots[key]
            else:
                self.lots.pop(key, None)
        if plan.pending_stored:
            for key in plan.balances:
                if key in plan.pending:
                    self.pending[key] = plan.pending[key]
                else:
                    self.pending.pop(key, None)
        self.rule_usage.update(plan.rule_usage)
        for planned in plan.outcomes:
            if planned.is_new:
                stored = StoredOutcome(planned.incoming.payload_sha256, planned.outcome)
                self.outcomes[planned.outcome.command_id] = stored
        for entry in plan.entries:
            self.formed[entry.booking.idempotency_key] = entry.credit_lots
            self.booked[entry.booking.idempotency_key] = entry.booking
            self.entries[entry.booking.idempotency_key] = StoredEntry(
                entry.payload_sha256,
                entry.debit,
                entry.credit,
                entry.booking.points,
                entry.booking.reverses is not None,
                award_rule_id=award_rule_id(entry.booking),
            )
            if entry.booking.reverses is not None:
                target = self.entries[entry.booking.reverses]
                self.entries[entry.booking.reverses] = StoredEntry(
                    target.payload_sha256,
                    target.debit,
                    target.credit,
                    target.points,
                    target.is_reversal,
                    target.reversed_points + entry.booking.points,
                    target.award_rule_id,
                )

    def user_balance(self, user_id: str, programme_id: str = "prog") -> int:
        return self.balances.get(AccountKey.user(programme_id, user_id), 0)


def _held_for(entry: StoredEntry, user: AccountKey) -> bool:
    """An award booked for `user`: to the user's account, or to the pending account (whose
    entries name the user in their row, which the memory does not keep: trusted here)."""
    return entry.credit == user or entry.credit.kind is AccountKind.PENDING

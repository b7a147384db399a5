"""Builders for commands, and an in-memory store that keeps what the planner decides."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from ledger.core.accounts import AccountKey, ProgrammePolicy
from ledger.core.batch import (
    BatchPlan,
    IncomingCommand,
    LedgerSnapshot,
    Outcome,
    RuleKey,
    StoredEntry,
    StoredOutcome,
)
from ledger.core.budgets import award_rule_id, needed_rule_usage
from ledger.core.lots import Lots
from ledger.core.pending import Pending
from ledger.core.planner import needed_accounts, plan_batch
from schemas.ledger import Booking, LedgerCommand, Lineage, TransactionType, Variety

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
        )
        plan = plan_batch(commands, snapshot, RECORDED_AT)
        self._store(plan)
        return [planned.outcome for planned in plan.outcomes]

    def _store(self, plan: BatchPlan) -> None:
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

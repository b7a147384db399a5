"""An in-memory ledger for the vendor slices' unit tests: the reads each slice's small Protocol
names (`gateway.user_ledger.PostgresUserLedger` is the real one, tested through the e2e tests),
kept in dicts, with `book` to write a user's transactions as the ledger writer would."""

from collections.abc import Iterable
from datetime import datetime

from ledger.reads import (
    Expiring,
    Holdings,
    TierAssignment,
    TierChangeRow,
    Transaction,
    TransactionPage,
)
from schemas.ledger import CommandOutcome, LedgerCommand

User = tuple[str, str]
"""(programme_id, user_id)"""


class FakeUserLedger:
    def __init__(self) -> None:
        self.transactions: dict[User, list[Transaction]] = {}
        self.expiring: dict[User, list[Expiring]] = {}
        self.tiers: dict[User, TierAssignment] = {}
        self.changes: dict[User, list[TierChangeRow]] = {}
        self.outcomes: dict[str, CommandOutcome] = {}
        self.commands: dict[str, LedgerCommand] = {}
        """The command each stored outcome is of, by command id."""
        self.entries: dict[str, int] = {}
        """Journal entry ids by idempotency key."""
        self.reads: list[str] = []
        """The reads asked for, in order."""

    def book(
        self,
        programme_id: str,
        user_id: str,
        value: int,
        at: datetime,
        *,
        variety: str = "Programme Points",
        key: str | None = None,
    ) -> Transaction:
        """A journal entry on the user's account, with the balance after it."""
        history = self.transactions.setdefault((programme_id, user_id), [])
        entry_id = 1 + sum(len(each) for each in self.transactions.values())
        balance = (history[-1].balance if history else 0) + value
        key = key or f"entry-{entry_id}"
        transaction = Transaction(
            id=entry_id, user_id=user_id, description=f"{variety} {value}", value=value,
            balance=balance, transaction_type="Credit" if value > 0 else "Debit",
            variety=variety, remote_transaction_id=None, source_event_id=None,
            idempotency_key=key, created_at=at,
        )  # fmt: skip
        history.append(transaction)
        self.entries[key] = entry_id
        return transaction

    def _history(self, programme_id: str, user_id: str) -> list[Transaction] | None:
        self.reads.append(user_id)
        return self.transactions.get((programme_id, user_id))

    async def find_holdings(self, programme_id: str, user_id: str) -> Holdings | None:
        balance = await self.find_balance(programme_id, user_id)
        if balance is None:
            return None
        return Holdings(balance, balance, self.expiring.get((programme_id, user_id), []))

    async def find_balance(self, programme_id: str, user_id: str) -> int | None:
        history = self._history(programme_id, user_id)
        return None if history is None else history[-1].balance

    async def get_balance(self, programme_id: str, user_id: str) -> int:
        return await self.find_balance(programme_id, user_id) or 0

    async def balance_as_of(self, programme_id: str, user_id: str, as_of: datetime) -> int | None:
        history = self._history(programme_id, user_id)
        if history is None:
            return None
        return sum(each.value for each in history if each.created_at <= as_of)

    async def transactions_page(
        self, programme_id: str, user_id: str, *, page: int, num_of_items: int
    ) -> TransactionPage:
        history = self._history(programme_id, user_id) or []
        start = (page - 1) * num_of_items
        return TransactionPage(history[start : start + num_of_items], len(history))

    async def list_transactions(
        self, programme_id: str, user_id: str, *, after_id: int, limit: int
    ) -> list[Transaction]:
        history = self._history(programme_id, user_id) or []
        return [each for each in history if each.id > after_id][:limit]

    async def last_transaction(self, programme_id: str, user_id: str) -> Transaction | None:
        history = self._history(programme_id, user_id)
        return history[-1] if history else None

    async def assigned_tier(self, programme_id: str, user_id: str) -> TierAssignment | None:
        return self.tiers.get((programme_id, user_id))

    async def tier_changes(
        self, programme_id: str, user_id: str, *, limit: int
    ) -> list[TierChangeRow]:
        return self.changes.get((programme_id, user_id), [])[:limit]

    async def points_earned(self, programme_id: str, user_id: str, since: datetime | None) -> int:
        history = self.transactions.get((programme_id, user_id), [])
        return sum(
            each.value
            for each in history
            if each.variety == "Programme Points" and (since is None or each.created_at >= since)
        )

    async def get_outcomes(self, command_ids: Iterable[str]) -> dict[str, CommandOutcome]:
        return {key: self.outcomes[key] for key in command_ids if key in self.outcomes}

    async def entry_id(self, idempotency_key: str) -> int | None:
        return self.entries.get(idempotency_key)

    async def command_is_another(self, command: LedgerCommand) -> bool:
        stored = self.commands.get(command.command_id)
        return stored is not None and stored != command

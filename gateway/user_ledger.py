"""A user's ledger as the vendor APIs read it, in Postgres: one adapter over `ledger.reads`.

Each slice's logic states the few reads it needs as a small Protocol of its own (e.g.
`gateway.partner.reading.PartnerLedger`, `gateway.tier_standing.TierReads`); this class satisfies
all of them, so the process wires one object and a unit test one in-memory fake
(tests/unit/gateway/ledger_fakes.py).
Each method is the `ledger.reads` function of the same name, with the pool bound."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ledger import reads
from ledger.reads import Executor
from schemas.ledger import CommandOutcome, LedgerCommand


@dataclass(frozen=True, slots=True)
class PostgresUserLedger:
    db: Executor

    async def find_holdings(self, programme_id: str, user_id: str) -> reads.Holdings | None:
        return await reads.find_holdings(self.db, programme_id, user_id)

    async def find_balance(self, programme_id: str, user_id: str) -> int | None:
        return await reads.find_balance(self.db, programme_id, user_id)

    async def get_balance(self, programme_id: str, user_id: str) -> int:
        return await reads.get_balance(self.db, programme_id, user_id)

    async def balance_as_of(self, programme_id: str, user_id: str, as_of: datetime) -> int | None:
        return await reads.balance_as_of(self.db, programme_id, user_id, as_of)

    async def transactions_page(
        self, programme_id: str, user_id: str, *, page: int, num_of_items: int
    ) -> reads.TransactionPage:
        return await reads.transactions_page(
            self.db, programme_id, user_id, page=page, num_of_items=num_of_items
        )

    async def list_transactions(
        self, programme_id: str, user_id: str, *, after_id: int, limit: int
    ) -> list[reads.Transaction]:
        return await reads.list_transactions(
            self.db, programme_id, user_id, after_id=after_id, limit=limit
        )

    async def last_transaction(self, programme_id: str, user_id: str) -> reads.Transaction | None:
        return await reads.last_transaction(self.db, programme_id, user_id)

    async def assigned_tier(self, programme_id: str, user_id: str) -> reads.TierAssignment | None:
        return await reads.assigned_tier(self.db, programme_id, user_id)

    async def tier_changes(
        self, programme_id: str, user_id: str, *, limit: int
    ) -> list[reads.TierChangeRow]:
        return await reads.tier_changes(self.db, programme_id, user_id, limit=limit)

    async def points_earned(self, programme_id: str, user_id: str, since: datetime | None) -> int:
        return await reads.points_earned(self.db, programme_id, user_id, since)

    async def get_outcomes(self, command_ids: Iterable[str]) -> dict[str, CommandOutcome]:
        return await reads.get_outcomes(self.db, command_ids)

    async def entry_id(self, idempotency_key: str) -> int | None:
        return await reads.entry_id(self.db, idempotency_key)

    async def command_is_another(self, command: LedgerCommand) -> bool:
        """Whether the outcome stored under the command's id is of another command's payload
        (False while none is stored)."""
        stored = await reads.stored_command_digest(self.db, command.command_id)
        return stored is not None and stored != reads.command_digest(command)

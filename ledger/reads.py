"""What the other services may read of the ledger: the one module the gateway imports from
`ledger` (an import contract in pyproject.toml keeps it so). Balances, a user's transactions,
commands' outcomes, the digest the ledger compares a repeated command by, the ledger check, and
the archive of decided events with what the journal booked for them (replays).
The ledger's tables are its own: a reader that needs more adds a function here."""

from ledger.archive_queries import (
    ArchivedEvent,
    BookedForRule,
    archived_events,
    balances_of,
    booked_and_held_by_rule,
    booked_by_event,
    booked_by_rule,
    count_archived,
)
from ledger.check import EXAMPLES_DEFAULT, EXAMPLES_MAX, check_ledger
from ledger.core.hashing import digests
from ledger.db_types import Connection, Executor
from ledger.queries import (
    EXPIRING_MAX,
    PAGE_SIZE_MAX,
    TRANSACTIONS_LIMIT_MAX,
    Expiring,
    Holdings,
    Transaction,
    TransactionPage,
    find_balance,
    find_holdings,
    get_balance,
    get_outcome,
    get_outcomes,
    last_transaction,
    list_transactions,
    transactions_page,
)
from ledger.user_history import (
    ENTRIES_PAGE_MAX,
    TierAssignment,
    UserEntry,
    assigned_tier,
    user_entries,
    user_entry,
)
from schemas.ledger import LedgerCommand

__all__ = [
    "ENTRIES_PAGE_MAX",
    "EXAMPLES_DEFAULT",
    "EXAMPLES_MAX",
    "EXPIRING_MAX",
    "PAGE_SIZE_MAX",
    "TRANSACTIONS_LIMIT_MAX",
    "ArchivedEvent",
    "BookedForRule",
    "Connection",
    "Executor",
    "Expiring",
    "Holdings",
    "TierAssignment",
    "Transaction",
    "TransactionPage",
    "UserEntry",
    "archived_events",
    "assigned_tier",
    "balances_of",
    "booked_and_held_by_rule",
    "booked_by_event",
    "booked_by_rule",
    "check_ledger",
    "command_digest",
    "count_archived",
    "entry_id",
    "find_balance",
    "find_holdings",
    "get_balance",
    "get_outcome",
    "get_outcomes",
    "last_transaction",
    "list_transactions",
    "stored_command_digest",
    "transactions_page",
    "user_entries",
    "user_entry",
]


def command_digest(command: LedgerCommand) -> bytes:
    """The digest the ledger stores with a command's outcome and compares a repeat by."""
    return digests(command)[0]


async def stored_command_digest(db: Executor, command_id: str) -> bytes | None:
    """The digest stored with the command's outcome, None if it has none yet."""
    found: bytes | None = await db.fetchval(
        "SELECT payload_sha256 FROM ledger.command_outcomes WHERE command_id = $1", command_id
    )
    return found


async def entry_id(db: Executor, idempotency_key: str) -> int | None:
    """The journal entry booked under an idempotency key, if any."""
    found = await db.fetchval(
        "SELECT entry_id FROM ledger.entries WHERE idempotency_key = $1", idempotency_key
    )
    return None if found is None else int(found)

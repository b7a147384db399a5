"""What the other services may read of the ledger: the one module the gateway imports from
`ledger` (an import contract in pyproject.toml keeps it so). Balances (now, as of any past
instant, and what of them expires when), a user's transactions (their pending awards among
them), a programme's transactions of a period, commands' outcomes, the points a user earned from
rules (a tier's progress), the booked idempotency keys, the digests the ledger compares a
repeated command or booking by, the ledger check, and the archive of decided events with what
the journal booked for them (replays).
The ledger's tables are its own: a reader that needs more adds a function here."""

from ledger.archive_queries import (
    WHOLE,
    ArchiveChunk,
    ArchivedEvent,
    BookedForRule,
    ReplayRow,
    Share,
    archive_horizon,
    archived_before_snapshot,
    archived_by_transaction,
    archived_events,
    balances_of,
    booked_and_held_by_rule,
    booked_by_event,
    count_archived,
    exported_snapshot,
    snapshot_read,
)
from ledger.check import EXAMPLES_DEFAULT, EXAMPLES_MAX, check_ledger
from ledger.core.hashing import booking_sha256, digests
from ledger.db_types import Connection, Executor
from ledger.history import (
    JOURNAL_COLUMNS,
    KEYS_PER_QUERY_MAX,
    JournalEntry,
    UserBalance,
    balance_as_of,
    balances_as_of,
    booked_keys,
    stored_outcomes,
    transactions_between,
)
from ledger.pending_awards import PendingAward as PendingAwardState
from ledger.queries import (
    EXPIRING_MAX,
    PAGE_SIZE_MAX,
    PENDING_MAX,
    TRANSACTIONS_LIMIT_MAX,
    Expiring,
    Holdings,
    PendingPoints,
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
from ledger.tier_points import points_earned
from ledger.user_history import (
    ENTRIES_PAGE_MAX,
    TIER_CHANGES_MAX,
    TierAssignment,
    TierChangeRow,
    UserEntry,
    assigned_tier,
    tier_changes,
    user_entries,
    user_entry,
)
from schemas.ledger import Booking, LedgerCommand

__all__ = [
    "ENTRIES_PAGE_MAX",
    "EXAMPLES_DEFAULT",
    "EXAMPLES_MAX",
    "EXPIRING_MAX",
    "JOURNAL_COLUMNS",
    "KEYS_PER_QUERY_MAX",
    "PAGE_SIZE_MAX",
    "PENDING_MAX",
    "TIER_CHANGES_MAX",
    "TRANSACTIONS_LIMIT_MAX",
    "WHOLE",
    "ArchiveChunk",
    "ArchivedEvent",
    "BookedForRule",
    "Connection",
    "Executor",
    "Expiring",
    "Holdings",
    "JournalEntry",
    "PendingAwardState",
    "PendingPoints",
    "ReplayRow",
    "Share",
    "TierAssignment",
    "TierChangeRow",
    "Transaction",
    "TransactionPage",
    "UserBalance",
    "UserEntry",
    "archive_horizon",
    "archived_before_snapshot",
    "archived_by_transaction",
    "archived_events",
    "assigned_tier",
    "balance_as_of",
    "balances_as_of",
    "balances_of",
    "booked_and_held_by_rule",
    "booked_by_event",
    "booked_keys",
    "booking_digest",
    "check_ledger",
    "command_digest",
    "count_archived",
    "entry_id",
    "exported_snapshot",
    "find_balance",
    "find_holdings",
    "get_balance",
    "get_outcome",
    "get_outcomes",
    "last_transaction",
    "list_transactions",
    "points_earned",
    "snapshot_read",
    "stored_command_digest",
    "stored_outcomes",
    "tier_changes",
    "transactions_between",
    "transactions_page",
    "user_entries",
    "user_entry",
]


def booking_digest(programme_id: str, user_id: str, booking: Booking) -> bytes:
    """The digest the ledger stores with a booking's entry (`booked_keys`) and compares a repeat
    of its idempotency key by; `user_id` is the user the booking is for."""
    return booking_sha256(programme_id, user_id, booking)


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

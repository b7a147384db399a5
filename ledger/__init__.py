"""The ledger writer: books ledger-commands.v1 into a double-entry, append-only Postgres ledger."""

from ledger.core.batch import IncomingCommand
from ledger.exceptions import LedgerError
from ledger.queries import (
    Transaction,
    TransactionPage,
    get_balance,
    get_outcome,
    last_transaction,
    list_transactions,
    transactions_page,
)
from ledger.writing import NOTIFY_CHANNEL, notified_ids

__all__ = [
    "NOTIFY_CHANNEL",
    "IncomingCommand",
    "LedgerError",
    "Transaction",
    "TransactionPage",
    "get_balance",
    "get_outcome",
    "last_transaction",
    "list_transactions",
    "notified_ids",
    "transactions_page",
]

"""The ledger's exceptions, under one root.

    LedgerError
    ├── LedgerInvariantError       a check that must never fail did (a bug, or a tampered database)
    ├── TransientLedgerError       worth retrying the whole batch
    │   └── ConcurrentWriteError   another writer booked one of the batch's keys first
    └── RetriesExhaustedError      a transient error outlived the retry budget

A rejected command (not enough points, an invalid variety) is not an exception: it is an outcome.
"""


class LedgerError(Exception):
    """Root of every exception the ledger raises."""


class LedgerInvariantError(LedgerError):
    """An invariant that the code and the database guarantee was found broken."""


class TransientLedgerError(LedgerError):
    """The batch's transaction was rolled back and may be retried as a whole."""


class ConcurrentWriteError(TransientLedgerError):
    """A planned outcome or entry violated its idempotency key (`ledger.storage.write_batch`):
    the snapshot the plan was built on is stale, so the batch is planned again."""


class RetriesExhaustedError(LedgerError):
    """The batch kept failing with transient errors; the writer stops rather than skip it."""

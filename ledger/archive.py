"""The archive of decided events (`ledger.decided_events`, docs/decisions/0013): its rows are
written with the batch (`ledger.storage`); this keeps the monthly partitions they go to in place.

A month's partition is made (by `ledger.ensure_decided_events_month`, an ATTACH that does not
wait for readers of the archive) before the batch whose events need it, outside the batch's
transaction, so the DDL's lock is not held while the batch books. Each writer remembers the
months it knows exist: a month costs one round trip the first time it is seen, then nothing."""

from collections.abc import Iterable
from datetime import date

from ledger.core.batch import IncomingCommand
from ledger.core.columns import archive_month
from ledger.db_types import Executor

KNOWN_MONTHS_MAX = 10_000
"""A bound on what a writer remembers (over 800 years of months)."""


class ArchiveMonths:
    def __init__(self) -> None:
        self._known: set[date] | None = None

    async def ensure(self, db: Executor, commands: Iterable[IncomingCommand]) -> None:
        """The partitions of the months the commands' archive rows fall in exist."""
        needed = {archive_month(c.archive) for c in commands if c.archive is not None}
        if not needed:
            return
        if self._known is None or len(self._known) > KNOWN_MONTHS_MAX:
            rows = await db.fetch("SELECT ledger.decided_events_months() AS month")
            self._known = {row["month"] for row in rows}
        for month in sorted(needed - self._known):
            await db.execute("SELECT ledger.ensure_decided_events_month($1)", month)
            self._known.add(month)

"""Which way a booked entry moved points, in a programme owner's words (the `flow` label of
`loyalty_ledger_points_total`).

| flow        | entry                                                                     |
| ----------- | ------------------------------------------------------------------------- |
| issued      | budget -> user: awards, and credits of adjustments and points errors      |
| deducted    | user -> budget: debits of adjustments and points errors, account closures |
|             | of programmes that return closed accounts' points to their budget         |
| redeemed    | user -> redeemed: redemptions, debits of order adjustments                |
| refunded    | redeemed -> user: order cancellations, credits of order adjustments       |
| expired     | user -> expired: account closures of the other programmes                 |
| transferred | user -> user: person-to-person transfers                                  |
| reversed    | any entry that corrects (reverses) an earlier one, whichever way it goes  |
"""

from collections import Counter
from collections.abc import Iterable
from typing import Final

from ledger.core.accounts import AccountKind
from ledger.core.batch import PlannedEntry

REVERSED: Final = "reversed"
OTHER: Final = "other"
FLOWS: Final[dict[tuple[AccountKind, AccountKind], str]] = {
    (AccountKind.BUDGET, AccountKind.USER): "issued",
    (AccountKind.USER, AccountKind.BUDGET): "deducted",
    (AccountKind.USER, AccountKind.REDEEMED): "redeemed",
    (AccountKind.REDEEMED, AccountKind.USER): "refunded",
    (AccountKind.USER, AccountKind.EXPIRED): "expired",
    (AccountKind.USER, AccountKind.USER): "transferred",
}


def flow(entry: PlannedEntry) -> str:
    """`OTHER` for a pair of accounts no variety moves points between (none today)."""
    if entry.booking.reverses is not None:
        return REVERSED
    return FLOWS.get((entry.debit.kind, entry.credit.kind), OTHER)


def points_by_flow(entries: Iterable[PlannedEntry]) -> Counter[tuple[str, str]]:
    """Points moved, by (programme, flow): summed per batch before any counter is touched (a
    labelled counter costs a lookup and a lock per inc())."""
    tally: Counter[tuple[str, str]] = Counter()
    for entry in entries:
        tally[entry.debit.programme_id, flow(entry)] += entry.booking.points
    return tally

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
| held        | budget -> pending: pending awards (`ledger.core.pending`)                 |
| released    | pending -> user: pending awards made available                            |
| cancelled   | pending -> budget: pending awards taken back (a return)                   |
"""

from collections.abc import Iterable
from typing import Final

from ledger.core.accounts import AccountKind
from ledger.core.batch import PlannedEntry

REVERSED: Final = "reversed"
OTHER: Final = "other"
_BUDGET, _USER = AccountKind.BUDGET, AccountKind.USER
_REDEEMED, _EXPIRED = AccountKind.REDEEMED, AccountKind.EXPIRED
_PENDING = AccountKind.PENDING


def flow(entry: PlannedEntry) -> str:
    """`OTHER` for a pair of accounts no command moves points between (funding -> budget is an
    operator's action, not the writer's). Kinds are compared by identity, most frequent first:
    hashing an enum member runs Python code (Enum.__hash__), and this runs for every entry the
    writer books (measured on 2,000 awards: 0.9 µs an entry, 2.5 µs with a dict of kind pairs)."""
    if entry.booking.reverses is not None:
        return REVERSED
    debit, credit = entry.debit.kind, entry.credit.kind
    if credit is _USER:
        if debit is _BUDGET:
            return "issued"
        if debit is _REDEEMED:
            return "refunded"
        if debit is _USER:
            return "transferred"
        if debit is _PENDING:
            return "released"
    elif debit is _USER:
        if credit is _REDEEMED:
            return "redeemed"
        if credit is _BUDGET:
            return "deducted"
        if credit is _EXPIRED:
            return "expired"
    elif credit is _PENDING:
        return "held"
    elif debit is _PENDING and credit is _BUDGET:
        return "cancelled"
    return OTHER


def points_by_flow(entries: Iterable[PlannedEntry]) -> dict[tuple[str, str], int]:
    """Points moved, by (programme, flow): summed per batch before any counter is touched (a
    labelled counter costs a lookup and a lock per inc())."""
    tally: dict[tuple[str, str], int] = {}
    for entry in entries:
        key = (entry.debit.programme_id, flow(entry))
        tally[key] = tally.get(key, 0) + entry.booking.points
    return tally

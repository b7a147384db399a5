"""Reconciliation: what the ledger's stored facts must satisfy, decided without the database.

The queries (`ledger.check`) reduce the journal to one row of facts per account and one per
command; the functions here compare each row with what the ledger guarantees and name every
disagreement. A `Tally` keeps the counts and the first few findings of each check, so a report
stays short however broken the ledger is. The checks:

- balances: an account's cached balance equals the sum of its entries and the balance-after of
  its latest entry, and every entry's balance-after follows from the one before it;
- double entry: every entry moves its points between two accounts of its own programme (one row
  is both legs, so each entry nets to zero by construction), every account an entry names
  exists, and each programme's balances sum to zero;
- outcomes: a booked command's points (and balance after) equal its own entries' net effect on
  its user's account (on the programme's budget for a programme-level command, budget
  funding); a rejected or duplicate command has no entry; every entry belongs to a booked
  command. (A booked command some of whose bookings had been booked before under another
  command id shows here too: the engine and the APIs never build one.)
- floors: no account below zero whose kind may not go negative (`accounts.may_go_negative`),
  except a user's that an entry allowed to (`Booking.allow_negative`);
- lots: a user's stored lots keep their rules (`ledger.core.lots.problems`: their sum is the
  available balance, in date order, each above zero), the account's next due day is its
  earliest lot's, and each dated lot holds what the entries' lot movements add up to for it
  (the journal is the truth; the lots are its cache, as the balance is).
- pending: a user's stored pending lots keep their rules (`ledger.core.pending.problems`), the
  account's next release day is its earliest lot's, each award's lot holds what its pending
  entry booked less what releases and cancellations (entries naming it, `pending_of`) moved, so
  no award is released or cancelled beyond its points, and each programme's pending account
  holds exactly its users' pending lots.
"""

from datetime import date
from enum import StrEnum
from typing import NamedTuple

from ledger.core.accounts import AccountKey, AccountKind, ProgrammePolicy, may_go_negative
from ledger.core.lots import decode, next_due, problems
from ledger.core.pending import decode as decode_pending
from ledger.core.pending import next_release
from ledger.core.pending import problems as pending_problems


class Check(StrEnum):
    BALANCES = "balances"
    DOUBLE_ENTRY = "double entry"
    OUTCOMES = "outcomes"
    FLOORS = "floors"
    LOTS = "lots"
    PENDING = "pending"


CHECKS = (
    Check.BALANCES, Check.DOUBLE_ENTRY, Check.OUTCOMES, Check.FLOORS, Check.LOTS, Check.PENDING,
)  # fmt: skip
EXAMPLES_MAX = 1_000
"""The most findings a tally keeps per check (it counts them all)."""


class Finding(NamedTuple):
    check: Check
    text: str


class AccountFacts(NamedTuple):
    """An account with what its entries say. `programme_id` and `kind` are None when entries
    name an account id that does not exist; `latest_balance_after` is None without entries."""

    account_id: int
    programme_id: str | None
    kind: str | None
    owner_id: str | None
    funded: bool
    cached: int
    from_entries: int
    entries: int
    latest_balance_after: int | None
    chain_breaks: int
    """Entries whose balance-after is not the previous one's plus the entry's points."""
    first_break_entry_id: int | None
    foreign_entries: int
    """Entries of another programme that move this account."""
    lots: str | None = None
    """The stored lots (json text; None: every open point never expires)."""
    lots_next_due: date | None = None
    pending: str | None = None
    """The stored pending lots (jsonb text; None: nothing pending)."""
    pending_next_release: date | None = None
    negative_allowed: bool = False
    """Some debit of the account was allowed to take it below zero (`Booking.allow_negative`:
    a return under `negative_balance`, a re-base with `--allow-negative`)."""


class PendingFacts(NamedTuple):
    """An award whose pending lot and journal disagree: what its entries leave pending (the
    award's points less what entries naming it moved) and what the account stores for it."""

    account_id: int | None
    programme_id: str | None
    owner_id: str | None
    award_key: str
    from_entries: int
    stored: int


class PendingSumFacts(NamedTuple):
    """A programme whose pending account and its users' pending lots disagree."""

    programme_id: str
    pending_balance: int
    lots_points: int


def pending_findings(facts: PendingFacts) -> list[Finding]:
    if facts.from_entries == facts.stored:
        return []
    name = f"account {facts.account_id} ({facts.programme_id} user {facts.owner_id})"
    return [
        Finding(
            Check.PENDING,
            f"{name}: pending award {facts.award_key} holds {facts.stored}, its entries leave "
            f"{facts.from_entries}",
        )
    ]


def pending_sum_findings(facts: PendingSumFacts) -> list[Finding]:
    if facts.pending_balance == facts.lots_points:
        return []
    return [
        Finding(
            Check.PENDING,
            f"programme {facts.programme_id}: its pending account holds "
            f"{facts.pending_balance}, its users' pending lots {facts.lots_points}",
        )
    ]


class CommandFacts(NamedTuple):
    """A stored outcome with its own entries (those carrying its command id). `status` is None
    for entries whose command has no stored outcome."""

    command_id: str
    programme_id: str | None
    user_id: str | None
    status: str | None
    points: int
    balance_after: int | None
    entries: int
    account_points: int
    """The entries' net effect on the command's account: the user's, or the budget's for a
    programme-level command."""
    account_balance_after: int | None
    """The balance-after of the latest of those entries on that account; None if none."""


def account_findings(facts: AccountFacts) -> list[Finding]:
    if facts.programme_id is None or facts.kind is None:
        return [
            Finding(
                Check.DOUBLE_ENTRY,
                f"{facts.entries} entries name account {facts.account_id}, which does not exist",
            )
        ]
    name = _account_name(facts)
    found = _balance_findings(name, facts)
    if facts.foreign_entries:
        found.append(
            Finding(
                Check.DOUBLE_ENTRY,
                f"{name} is moved by {facts.foreign_entries} entries of another programme",
            )
        )
    lowest = min(facts.cached, facts.from_entries)
    key = AccountKey(facts.programme_id, AccountKind(facts.kind), facts.owner_id or "")
    allowed = facts.negative_allowed and key.kind is AccountKind.USER
    if (
        lowest < 0
        and not allowed
        and not may_go_negative(key, ProgrammePolicy(funded=facts.funded))
    ):
        found.append(
            Finding(
                Check.FLOORS,
                f"{name} is at {lowest} (cached {facts.cached}, from entries "
                f"{facts.from_entries}); a {_kind_text(facts)} account never goes below zero",
            )
        )
    found.extend(_lot_findings(name, facts))
    found.extend(_pending_lot_findings(name, facts))
    return found


def _pending_lot_findings(name: str, facts: AccountFacts) -> list[Finding]:
    if facts.pending is None:
        if facts.pending_next_release is not None:
            return [
                Finding(
                    Check.PENDING,
                    f"{name}: nothing pending but a release due {facts.pending_next_release}",
                )
            ]
        return []
    try:
        pending = decode_pending(facts.pending)
    except ValueError as exc:
        return [Finding(Check.PENDING, f"{name}: {exc}")]
    found = [Finding(Check.PENDING, f"{name}: {problem}") for problem in pending_problems(pending)]
    due = next_release(pending)
    stored_due = (
        None if facts.pending_next_release is None else facts.pending_next_release.isoformat()
    )
    if due != stored_due:
        found.append(
            Finding(Check.PENDING, f"{name}: next release {stored_due}, its earliest lot's {due}")
        )
    return found


def _lot_findings(name: str, facts: AccountFacts) -> list[Finding]:
    if facts.lots is None:
        if facts.lots_next_due is not None:
            return [Finding(Check.LOTS, f"{name}: no lots stored but due {facts.lots_next_due}")]
        return []
    try:
        lots = decode(facts.lots)
    except ValueError as exc:
        return [Finding(Check.LOTS, f"{name}: {exc}")]
    found = [Finding(Check.LOTS, f"{name}: {problem}") for problem in problems(lots, facts.cached)]
    due = next_due(lots)
    stored_due = None if facts.lots_next_due is None else facts.lots_next_due.isoformat()
    if due != stored_due:
        found.append(
            Finding(Check.LOTS, f"{name}: next due {stored_due}, its earliest lot is {due}")
        )
    return found


class LotFacts(NamedTuple):
    """A dated lot of an account as stored and as its entries' lot movements add up."""

    account_id: int
    programme_id: str | None
    kind: str | None
    owner_id: str | None
    day: str
    from_entries: int
    stored: int


def lot_findings(facts: LotFacts) -> list[Finding]:
    if facts.from_entries == facts.stored:
        return []
    owner = f" {facts.owner_id}" if facts.owner_id else ""
    name = f"account {facts.account_id} ({facts.programme_id} {facts.kind}{owner})"
    return [
        Finding(
            Check.LOTS,
            f"{name}: lot {facts.day} holds {facts.stored}, its entries add up to "
            f"{facts.from_entries}",
        )
    ]


def _balance_findings(name: str, facts: AccountFacts) -> list[Finding]:
    found: list[Finding] = []
    latest = facts.latest_balance_after
    if facts.cached != facts.from_entries or (latest is not None and latest != facts.cached):
        latest_text = "" if latest is None else f", latest balance-after {latest}"
        found.append(
            Finding(
                Check.BALANCES,
                f"{name}: cached balance {facts.cached}, from its {facts.entries} entries "
                f"{facts.from_entries}{latest_text}",
            )
        )
    if facts.chain_breaks:
        found.append(
            Finding(
                Check.BALANCES,
                f"{name}: {facts.chain_breaks} entries' balance-after does not follow from the "
                f"entry before, first entry {facts.first_break_entry_id}",
            )
        )
    return found


def _account_name(facts: AccountFacts) -> str:
    owner = f" {facts.owner_id}" if facts.owner_id else ""
    return f"account {facts.account_id} ({facts.programme_id} {facts.kind}{owner})"


def _kind_text(facts: AccountFacts) -> str:
    if facts.kind == AccountKind.BUDGET:
        return "funded programme's budget"
    return f"{facts.kind}"


def command_findings(facts: CommandFacts) -> list[Finding]:
    command = f"command {facts.command_id}"
    if facts.status is None:
        return [
            Finding(Check.OUTCOMES, f"{facts.entries} entries of {command} have no stored outcome")
        ]
    if facts.status != "booked":
        if not facts.entries:
            return []
        return [
            Finding(Check.OUTCOMES, f"{command} is {facts.status} but has {facts.entries} entries")
        ]
    found: list[Finding] = []
    whose = "its user's" if facts.user_id is not None else "the programme's budget"
    if facts.points != facts.account_points:
        found.append(
            Finding(
                Check.OUTCOMES,
                f"{command} ({facts.programme_id}) booked {facts.points} points; its "
                f"{facts.entries} entries move {facts.account_points} on {whose} account",
            )
        )
    after = facts.account_balance_after
    if after is not None and facts.balance_after != after:
        found.append(
            Finding(
                Check.OUTCOMES,
                f"{command} ({facts.programme_id}) says balance {facts.balance_after} after it; "
                f"its last entry on {whose} account says {after}",
            )
        )
    return found


class ProgrammeSums:
    """Each programme's balances added up, cached and from entries: both must be zero."""

    def __init__(self) -> None:
        self.cached: dict[str, int] = {}
        self.from_entries: dict[str, int] = {}

    def add(self, facts: AccountFacts) -> None:
        programme_id = facts.programme_id
        if programme_id is None:
            return
        self.cached[programme_id] = self.cached.get(programme_id, 0) + facts.cached
        self.from_entries[programme_id] = (
            self.from_entries.get(programme_id, 0) + facts.from_entries
        )

    def findings(self) -> list[Finding]:
        return [
            Finding(
                Check.DOUBLE_ENTRY,
                f"programme {programme_id}: its balances sum to {cached} (from entries "
                f"{self.from_entries[programme_id]}), not 0",
            )
            for programme_id, cached in sorted(self.cached.items())
            if cached != 0 or self.from_entries[programme_id] != 0
        ]


class CheckResult(NamedTuple):
    check: Check
    found: int
    examples: tuple[str, ...]
    """The first findings, at most the tally's `examples_max`."""


class Tally:
    """Counts every finding of each check and keeps the first `examples_max` of them."""

    def __init__(self, examples_max: int) -> None:
        if not 0 <= examples_max <= EXAMPLES_MAX:
            raise ValueError(f"examples_max must be between 0 and {EXAMPLES_MAX}")
        self.examples_max = examples_max
        self.counts: dict[Check, int] = dict.fromkeys(CHECKS, 0)
        self.examples: dict[Check, list[str]] = {check: [] for check in CHECKS}

    def add(self, findings: list[Finding]) -> None:
        for finding in findings:
            self.counts[finding.check] += 1
            kept = self.examples[finding.check]
            if len(kept) < self.examples_max:
                kept.append(finding.text)

    def results(self) -> tuple[CheckResult, ...]:
        return tuple(
            CheckResult(check, self.counts[check], tuple(self.examples[check])) for check in CHECKS
        )

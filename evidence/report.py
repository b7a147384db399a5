"""A backtest's report: the two arms side by side (total points; by rule, tier and event type;
users affected, those whose points change most and the distribution of per-user changes; budget
used), and whether the current configuration reproduced what the ledger booked. Pure: built
from a finished replay's outcome and the journal's booked totals."""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from evidence.core.replay import Mismatch, Outcome, Totals

TOP_USERS: Final = 10
CHANGE_BUCKETS: Final = (
    (None, -100, "-100 or less"),
    (-99, -10, "-99 to -10"),
    (-9, -1, "-9 to -1"),
    (1, 9, "+1 to +9"),
    (10, 99, "+10 to +99"),
    (100, None, "+100 or more"),
)


@dataclass(frozen=True)
class Row:
    """One line of a comparison: the name, the current arm's points, the candidate's."""

    name: str
    current: int
    candidate: int

    @property
    def change(self) -> int:
        return self.candidate - self.current


@dataclass(frozen=True)
class Report:
    programme_id: str
    candidate_version: int
    since: datetime | None
    until: datetime | None
    events: int
    history_events: int
    current: Totals
    candidate: Totals
    ledger_booked: Mapping[str, int]
    """Net points the journal booked for the window's events, by rule."""
    mismatches: int
    mismatch_examples: tuple[Mismatch, ...]
    rejected_live: int
    budgets: Mapping[str, int]
    """The candidate's rule budgets (budget_max) by rule id."""
    ledger_now: Mapping[str, int] = field(default_factory=dict)
    """Net points the journal holds now for the window's events, by rule: the decisions' and
    a re-base's corrections (`loyalty-admin rebase`)."""
    shadow_run_id: int | None = None
    """A shadow run's report (`evidence.shadow.report`): `current` is the live decisions as
    archived, `candidate` the shadow's stored ones; None for a backtest."""

    @property
    def first_arm(self) -> str:
        """What the tables call the arm the candidate is compared with."""
        return "current" if self.shadow_run_id is None else "live"

    @property
    def ledger_booked_total(self) -> int:
        return sum(self.ledger_booked.values())

    @property
    def reproduces(self) -> bool:
        """The current configuration gave what was decided, event by event, and what the ledger
        booked, rule by rule."""
        replayed = {rule: points for rule, points in self.current.booked_by_rule.items() if points}
        booked = {rule: points for rule, points in self.ledger_booked.items() if points}
        return self.mismatches == 0 and replayed == booked

    def ledger_differences(self) -> list[Row]:
        """The rules whose points the journal holds now (corrections included) differ from the
        candidate's on the events the ledger booked: none once the candidate was re-based."""
        candidate = self.candidate.booked_by_rule
        rules = sorted(set(self.ledger_now) | set(candidate))
        rows = [Row(rule, self.ledger_now.get(rule, 0), candidate.get(rule, 0)) for rule in rules]
        return [row for row in rows if row.change]

    def totals(self) -> list[Row]:
        current, candidate = self.current, self.candidate
        return [
            Row("points (net)", current.points, candidate.points),
            Row("earned (budget used)", current.earned, candidate.earned),
            Row("redeemed", current.redeemed, candidate.redeemed),
            Row("of events the ledger booked", current.booked, candidate.booked),
        ]

    def by_rule(self) -> list[Row]:
        return _rows(self.current.by_rule, self.candidate.by_rule)

    def by_tier(self) -> list[Row]:
        return _rows(self.current.by_tier, self.candidate.by_tier)

    def by_event_type(self) -> list[Row]:
        return _rows(self.current.by_event_type, self.candidate.by_event_type)

    def budget_rows(self) -> list[Row]:
        """Points each budgeted rule (of the candidate) awards in either arm."""
        return [
            Row(rule, self.current.by_rule.get(rule, 0), self.candidate.by_rule.get(rule, 0))
            for rule in sorted(self.budgets)
        ]

    def user_changes(self) -> dict[str, int]:
        """Per user whose points change: candidate minus current."""
        current, candidate = self.current.by_user, self.candidate.by_user
        changes = {user: candidate.get(user, 0) - current.get(user, 0) for user in current}
        return {user: change for user, change in changes.items() if change}

    @property
    def users(self) -> int:
        return len(self.current.by_user)

    def top_users(self) -> list[Row]:
        changes = self.user_changes()
        ranked = sorted(changes, key=lambda user: (-abs(changes[user]), user))[:TOP_USERS]
        return [
            Row(user, self.current.by_user[user], self.candidate.by_user.get(user, 0))
            for user in ranked
        ]

    def distribution(self) -> list[tuple[str, int]]:
        """Users by change (unchanged, then the buckets from the largest loss up)."""
        changes = self.user_changes().values()
        counted = [("unchanged", self.users - len(self.user_changes()))]
        counted += [(label, _within(changes, low, high)) for low, high, label in CHANGE_BUCKETS]
        return counted


def report_of(
    outcome: Outcome,
    programme_id: str,
    candidate_version: int,
    since: datetime | None,
    until: datetime | None,
    ledger_booked: Mapping[str, int],
    budgets: Mapping[str, int],
    ledger_now: Mapping[str, int] | None = None,
) -> Report:
    return Report(
        programme_id=programme_id,
        candidate_version=candidate_version,
        since=since,
        until=until,
        events=outcome.current.events,
        history_events=outcome.history_events,
        current=outcome.current,
        candidate=outcome.candidate,
        ledger_booked=dict(ledger_booked),
        mismatches=outcome.mismatches,
        mismatch_examples=tuple(outcome.mismatch_examples),
        rejected_live=outcome.rejected_live,
        budgets=dict(budgets),
        ledger_now=dict(ledger_booked if ledger_now is None else ledger_now),
    )


def _rows(current: Counter[str], candidate: Counter[str]) -> list[Row]:
    names = sorted(set(current) | set(candidate))
    return [Row(name or "-", current.get(name, 0), candidate.get(name, 0)) for name in names]


def _within(changes: Iterable[int], low: int | None, high: int | None) -> int:
    return sum(1 for c in changes if (low is None or c >= low) and (high is None or c <= high))

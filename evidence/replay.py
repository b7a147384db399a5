"""Replaying archived events through the engine, in their decision order: pure, no I/O.

Two arms see the same events. `current` decides each event with the programme version it was
decided with (the configuration in force at the time), so it must give what was decided then,
to the point; `candidate` decides with one candidate configuration. Both start from the users'
states as they were at the start of the window (`since`): the events before it are replayed,
with the versions in force, to build them, and counted by neither arm. Rule budgets' usage is
carried the same way. A programmatic rule is paid its recorded amount (`external_points`).
"""

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import orjson

from evidence.alike import AlikeTypes
from processors.engine import CompiledProgramme, Decision, UserState, decide
from schemas.events import EventV1

MISMATCH_EXAMPLES_MAX: Final = 20

CandidateDecided = Callable[[EventV1, Decision, bool], None]
"""Told of each event of the window with the candidate's decision and whether the ledger
booked the live one (a re-base plans its corrections from these)."""


@dataclass
class Totals:
    """What an arm decided over the window."""

    events: int = 0
    points: int = 0
    """Net: earned minus redeemed."""
    earned: int = 0
    redeemed: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)
    by_tier: Counter[str] = field(default_factory=Counter)
    by_event_type: Counter[str] = field(default_factory=Counter)
    by_user: Counter[str] = field(default_factory=Counter)
    booked: int = 0
    """Net points of the events the ledger booked in the live run (not those it refused)."""
    booked_by_rule: Counter[str] = field(default_factory=Counter)

    def merge(self, other: "Totals") -> None:
        """Adds another replay's totals (of other users: `by_user` keys are disjoint)."""
        self.events += other.events
        self.points += other.points
        self.earned += other.earned
        self.redeemed += other.redeemed
        self.booked += other.booked
        for mine, theirs in (
            (self.by_rule, other.by_rule),
            (self.by_tier, other.by_tier),
            (self.by_event_type, other.by_event_type),
            (self.by_user, other.by_user),
            (self.booked_by_rule, other.booked_by_rule),
        ):
            mine.update(theirs)

    def add(self, decision: Decision, user_id: str, event_type: str, booked: bool) -> None:
        awards = [(award.rule_id, award.signed_points) for award in decision.awards]
        tier = decision.explanation.tier or ""
        self.record(user_id, event_type, tier, decision.points, awards, booked)

    def record(
        self,
        user_id: str,
        event_type: str,
        tier: str,
        points: int,
        awards: Iterable[tuple[str, int]],
        booked: bool,
    ) -> None:
        """One decided event: its net `points` and the signed points of each rule (`awards`);
        as `add` does, from stored values (a shadow run's report)."""
        self.events += 1
        self.by_user[user_id] += points  # a user who earned nothing is still one seen
        if not points:
            return
        self.points += points
        self.by_event_type[event_type] += points
        self.by_tier[tier] += points
        if booked:
            self.booked += points
        for rule_id, signed in awards:
            self.by_rule[rule_id] += signed
            if signed > 0:
                self.earned += signed
            else:
                self.redeemed -= signed
            if booked:
                self.booked_by_rule[rule_id] += signed


@dataclass
class Arm:
    programme_of: Callable[[int | None], CompiledProgramme]
    """The programme to decide an event with, from the version it was decided with."""
    states: dict[str, UserState] = field(default_factory=dict)
    budget_used: dict[str, int] = field(default_factory=dict)
    totals: Totals = field(default_factory=Totals)

    def decide(
        self,
        event: EventV1,
        version: int | None,
        external: Mapping[str, int],
        programme: CompiledProgramme | None = None,
    ) -> Decision:
        """`programme`: instead of the arm's own (history replayed in the candidate arm)."""
        user_id = event.user_id
        programme = programme or self.programme_of(version)
        state = self.states.get(user_id) or UserState.initial()
        decision = decide(event, state, programme, external, budget_used=self.budget_used)
        return self.take(user_id, decision)

    def take(self, user_id: str, decision: Decision) -> Decision:
        """`decision` as this arm's: the user's new state, the budgets' use."""
        self.states[user_id] = decision.state
        for rule_id, points in decision.budget_consumed.items():
            self.budget_used[rule_id] = self.budget_used.get(rule_id, 0) + points
        return decision


@dataclass
class Mismatch:
    event_id: str
    archived_points: int
    replayed_points: int


@dataclass
class Outcome:
    """What a finished replay found: small and picklable (no states, no programmes), so that the
    replays of several processes, each of its own users, add up (`merge`)."""

    current: Totals = field(default_factory=Totals)
    candidate: Totals = field(default_factory=Totals)
    current_budget_used: dict[str, int] = field(default_factory=dict)
    candidate_budget_used: dict[str, int] = field(default_factory=dict)
    history_events: int = 0
    mismatches: int = 0
    mismatch_examples: list[Mismatch] = field(default_factory=list)
    rejected_live: int = 0

    def merge(self, other: "Outcome") -> None:
        self.current.merge(other.current)
        self.candidate.merge(other.candidate)
        for mine, theirs in (
            (self.current_budget_used, other.current_budget_used),
            (self.candidate_budget_used, other.candidate_budget_used),
        ):
            for rule_id, points in theirs.items():
                mine[rule_id] = mine.get(rule_id, 0) + points
        self.history_events += other.history_events
        self.mismatches += other.mismatches
        room = MISMATCH_EXAMPLES_MAX - len(self.mismatch_examples)
        self.mismatch_examples += other.mismatch_examples[:room]
        self.rejected_live += other.rejected_live


class Replay:
    """Feed it the archived events in decision order (`add`); read the arms' totals."""

    def __init__(
        self,
        current: Callable[[int | None], CompiledProgramme],
        candidate: CompiledProgramme,
        since: datetime | None,
        candidate_decided: CandidateDecided | None = None,
        alike: AlikeTypes | None = None,
    ) -> None:
        """`alike`: which events the candidate decides as the version in force does, each then
        decided once for both arms while they hold the same state for its user."""
        self.current = Arm(current)
        self._alike = alike
        self._candidate_decided = candidate_decided
        self.candidate = Arm(lambda _: candidate)
        self._since = since
        self._window_started = False
        self.history_events = 0
        self.mismatches = 0
        self.mismatch_examples: list[Mismatch] = []
        self.rejected_live = 0

    def add(
        self,
        event: EventV1,
        version: int | None,
        archived_points: int,
        external_points: str | None,
        booked: bool,
    ) -> None:
        """One archived event: `archived_points` were decided live, `booked` says whether the
        ledger booked them; `external_points` is the archive's JSON of the amounts used."""
        external = {} if external_points is None else orjson.loads(external_points)
        if self._since is not None and event.occurred_at < self._since:
            self._history(event, version, external)
            return
        if not self._window_started:
            self._window_started = True
            self.candidate.states = dict(self.current.states)
            self.candidate.budget_used = dict(self.current.budget_used)
        shared = self._alike is not None and self._shared(self._alike, event, version)
        current = self.current.decide(event, version, external)
        self.current.totals.add(current, event.user_id, event.event_type, booked)
        if current.points != archived_points:
            self._mismatch(event.event_id, archived_points, current.points)
        if shared:
            candidate = self.candidate.take(event.user_id, current)
        else:
            candidate = self.candidate.decide(event, version, external)
        self.candidate.totals.add(candidate, event.user_id, event.event_type, booked)
        self.rejected_live += not booked
        if self._candidate_decided is not None:
            self._candidate_decided(event, candidate, booked)

    def outcome(self) -> Outcome:
        current, candidate = self.current, self.candidate
        return Outcome(
            current.totals, candidate.totals, dict(current.budget_used),
            dict(candidate.budget_used), self.history_events, self.mismatches,
            list(self.mismatch_examples), self.rejected_live,
        )  # fmt: skip

    def _shared(self, alike: AlikeTypes, event: EventV1, version: int | None) -> bool:
        """The candidate would decide `event` as the current arm does: the same inputs (the
        same state object for the user, the same use of the type's budgets) to a programme
        alike for its type (`evidence.alike`)."""
        user_id = event.user_id
        if self.candidate.states.get(user_id) is not self.current.states.get(user_id):
            return False
        budgeted = alike.budgeted_if_alike(version, event.event_type)
        if budgeted is None or event.rule_id is not None:
            return False
        current, candidate = self.current.budget_used, self.candidate.budget_used
        return all(current.get(rule_id) == candidate.get(rule_id) for rule_id in budgeted)

    def _history(self, event: EventV1, version: int | None, external: Mapping[str, int]) -> None:
        """An event before the window: it builds the states, as the version in force decided
        it, for both arms (one state while the window has not started: they are the same)."""
        self.history_events += 1
        self.current.decide(event, version, external)
        if self._window_started:
            # Decided late, after events of the window: the candidate's states move as they did.
            historic = self.current.programme_of(version)
            self.candidate.decide(event, version, external, historic)

    def _mismatch(self, event_id: str, archived: int, replayed: int) -> None:
        self.mismatches += 1
        if len(self.mismatch_examples) < MISMATCH_EXAMPLES_MAX:
            self.mismatch_examples.append(Mismatch(event_id, archived, replayed))

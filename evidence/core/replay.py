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
from typing import Final, Literal

import orjson

from evidence.core.alike import AlikeTypes
from evidence.core.apart import Apart, apart, candidate_state
from processors.engine import CompiledProgramme, Decision, UserState, decide
from schemas.events import EventV1

MISMATCH_EXAMPLES_MAX: Final = 20
SAME: Final = "same"
"""`Replay._shared`: the arms hold one state object for the user."""

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
        _added(self.by_rule, other.by_rule)
        _added(self.by_tier, other.by_tier)
        _added(self.by_event_type, other.by_event_type)
        _added(self.by_user, other.by_user)
        _added(self.booked_by_rule, other.booked_by_rule)

    def add(self, decision: Decision, user_id: str, event_type: str, booked: bool) -> None:
        """One decided event, as `record` counts it, from the decision's awards directly (no
        list of pairs per event: this runs for every event of a replay)."""
        by_user: dict[str, int] = self.by_user
        points = decision.points
        self.events += 1
        by_user[user_id] = by_user.get(user_id, 0) + points  # a user who earned nothing counts
        if not points:
            return
        self._counted(event_type, decision.explanation.tier or "", points, booked)
        for award in decision.awards:
            self._awarded(award.rule_id, award.signed_points, booked)

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
        by_user: dict[str, int] = self.by_user
        self.events += 1
        by_user[user_id] = by_user.get(user_id, 0) + points  # a user who earned nothing counts
        if not points:
            return
        self._counted(event_type, tier, points, booked)
        for rule_id, signed in awards:
            self._awarded(rule_id, signed, booked)

    def _counted(self, event_type: str, tier: str, points: int, booked: bool) -> None:
        by_event_type: dict[str, int] = self.by_event_type
        by_tier: dict[str, int] = self.by_tier
        self.points += points
        by_event_type[event_type] = by_event_type.get(event_type, 0) + points
        by_tier[tier] = by_tier.get(tier, 0) + points
        if booked:
            self.booked += points

    def _awarded(self, rule_id: str, signed: int, booked: bool) -> None:
        by_rule: dict[str, int] = self.by_rule
        by_rule[rule_id] = by_rule.get(rule_id, 0) + signed
        if signed > 0:
            self.earned += signed
        else:
            self.redeemed -= signed
        if booked:
            booked_by_rule: dict[str, int] = self.booked_by_rule
            booked_by_rule[rule_id] = booked_by_rule.get(rule_id, 0) + signed


def _added(mine: dict[str, int], theirs: dict[str, int]) -> None:
    """`Counter.update` of `theirs` into `mine`, as a compiled loop over plain dict operations
    (Counter's own runs interpreted, per key: merging 20,000 users' totals cost more than
    a tenth of a replay of 100,000 events)."""
    for key, count in theirs.items():
        mine[key] = mine.get(key, 0) + count


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

    def take(self, user_id: str, decision: Decision, state: UserState | None = None) -> Decision:
        """`decision` as this arm's: the user's new state (`state` instead of the decision's,
        when given), the budgets' use."""
        self.states[user_id] = decision.state if state is None else state
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
        _added(self.current_budget_used, other.current_budget_used)
        _added(self.candidate_budget_used, other.candidate_budget_used)
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
        self._candidate_programme = candidate
        # A memo of `current` by version, read for every event: it answers the same for a
        # version during a replay (the versions were read before it started), and a compiled
        # dict lookup costs less than a call to interpreted Python (`replaying.Versions`, which
        # reads the database, stays interpreted). `alike` is compiled and remembers its own.
        self._programmes: dict[int | None, CompiledProgramme] = {}
        self._since = since
        self._window_started = False
        self.history_events = 0
        self.mismatches = 0
        self.mismatch_examples: list[Mismatch] = []
        self.rejected_live = 0
        self._both = Totals()
        """Decisions the arms share, counted once: added to both arms' totals by `outcome`."""
        self.decided_twice = 0
        """Events of the window the candidate decided on its own (the others: once for both)."""
        self._apart: dict[str, Apart] = {}
        """By user whose arms' states are other objects: how they differ, when only where most
        decisions do not look (`evidence.core.apart`); kept for every user whose states change
        apart."""

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
        user_id = event.user_id
        before = self.candidate.states.get(user_id)
        programme = self._programme(version)
        shared = (
            None
            if self._alike is None
            else self._shared(self._alike, event, version, before, programme)
        )
        current = self.current.decide(event, version, external, programme)
        if current.points != archived_points:
            self._mismatch(event.event_id, archived_points, current.points)
        if isinstance(shared, str):  # SAME
            candidate = self.candidate.take(user_id, current)
        elif isinstance(shared, Apart) and before is not None:
            own = candidate_state(current.state, before, event.event_id, shared)
            candidate = self.candidate.take(user_id, current, own)
        else:
            candidate = self.candidate.decide(event, version, external, self._candidate_programme)
            self.decided_twice += 1
            self._note_apart(user_id, current.state, candidate.state)
        if candidate is current:  # counted once, for both arms (`outcome`)
            self._both.add(current, user_id, event.event_type, booked)
        else:
            self.current.totals.add(current, user_id, event.event_type, booked)
            self.candidate.totals.add(candidate, user_id, event.event_type, booked)
        self.rejected_live += not booked
        if self._candidate_decided is not None:
            self._candidate_decided(event, candidate, booked)

    def outcome(self) -> Outcome:
        """What the replay found so far; the arms' totals complete from here on."""
        current, candidate = self.current, self.candidate
        both, self._both = self._both, Totals()
        current.totals.merge(both)
        candidate.totals.merge(both)
        return Outcome(
            current.totals, candidate.totals, dict(current.budget_used),
            dict(candidate.budget_used), self.history_events, self.mismatches,
            list(self.mismatch_examples), self.rejected_live,
        )  # fmt: skip

    def _programme(self, version: int | None) -> CompiledProgramme:
        """The programme the current arm decides an event of `version` with."""
        programme = self._programmes.get(version)
        if programme is None:
            programme = self._programmes[version] = self.current.programme_of(version)
        return programme

    def _shared(
        self,
        alike: AlikeTypes,
        event: EventV1,
        version: int | None,
        before: UserState | None,
        programme: CompiledProgramme,
    ) -> Literal["same"] | Apart | None:
        """How the candidate may take the current arm's decision of `event`: `SAME` when its
        state for the user is the same object (`evidence.core.alike`), an `Apart` when it differs
        only where this event's decision does not look (`evidence.core.apart`); None when it must
        decide on its own. Either way the programme is alike for the event's type and the
        type's budgets have the same use in both arms."""
        user_id = event.user_id
        budgeted = alike.budgeted_if_alike(version, event.event_type)
        if budgeted is None or event.rule_id is not None:
            return None
        current, candidate = self.current.budget_used, self.candidate.budget_used
        if any(current.get(rule_id) != candidate.get(rule_id) for rule_id in budgeted):
            return None
        mine = self.current.states.get(user_id)
        if before is mine:
            return SAME
        differ = self._apart.get(user_id)
        if differ is None or event.event_type in differ.types or mine is None:
            return None
        if event.event_id in mine.applied:  # a redelivery reads its record
            return None
        if event.event_type in programme.returns:  # reads a record
            return None
        return differ

    def _note_apart(self, user_id: str, current: UserState, candidate: UserState) -> None:
        """After the arms decided an event each on its own: how their states differ now."""
        differ = None if current is candidate else apart(current, candidate)
        if differ is None:
            self._apart.pop(user_id, None)
        else:
            self._apart[user_id] = differ

    def _history(self, event: EventV1, version: int | None, external: Mapping[str, int]) -> None:
        """An event before the window: it builds the states, as the version in force decided
        it, for both arms (one state while the window has not started: they are the same)."""
        self.history_events += 1
        self.current.decide(event, version, external)
        if self._window_started:
            self._apart.pop(event.user_id, None)  # worked out again at its next decision apart
            # Decided late, after events of the window: the candidate's states move as they did.
            historic = self.current.programme_of(version)
            self.candidate.decide(event, version, external, historic)

    def _mismatch(self, event_id: str, archived: int, replayed: int) -> None:
        self.mismatches += 1
        if len(self.mismatch_examples) < MISMATCH_EXAMPLES_MAX:
            self.mismatch_examples.append(Mismatch(event_id, archived, replayed))

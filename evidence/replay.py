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
        self.states[user_id] = decision.state
        for rule_id, points in decision.budget_consumed.items():
            self.budget_used[rule_id] = self.budget_used.get(rule_id, 0) + points
        return decision


@dataclass
class Mismatch:
    event_id: str
    archived_points: int
    replayed_points: int


class Replay:
    """Feed it the archived events in decision order (`add`); read the arms' totals."""

    def __init__(
        self,
        current: Callable[[int | None], CompiledProgramme],
        candidate: CompiledProgramme,
        since: datetime | None,
        candidate_decided: CandidateDecided | None = None,
    ) -> None:
        self.current = Arm(current)
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
        current = self.current.decide(event, version, external)
        self.current.totals.add(current, event.user_id, event.event_type, booked)
        if current.points != archived_points:
            self._mismatch(event.event_id, archived_points, current.points)
        candidate = self.candidate.decide(event, version, external)
        self.candidate.totals.add(candidate, event.user_id, event.event_type, booked)
        self.rejected_live += not booked
        if self._candidate_decided is not None:
            self._candidate_decided(event, candidate, booked)

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

"""The changes one decision makes, gathered before the new `UserState` is built.

Maps are copied on first write only, so an event that changes nothing copies nothing and the
caller's state is never modified.
"""

from collections.abc import Mapping
from typing import TypeVar

from processors.engine import caps
from processors.engine.compile import CompiledProgramme, CompiledRule
from processors.engine.explain import RuleTrace
from processors.engine.frequency import mark_for
from processors.engine.outcomes import Award, ExternalCall
from processors.engine.periods import Moment
from processors.engine.state import (
    AppliedRecord,
    CapCounter,
    FrequencyMark,
    StreakProgress,
    UserState,
)

V = TypeVar("V")


class Draft:
    __slots__ = (
        "awards",
        "budget_consumed",
        "budget_used",
        "caps",
        "external_calls",
        "grew",
        "marks",
        "moment",
        "state",
        "streaks",
        "traces",
    )

    def __init__(self, state: UserState, moment: Moment, budget_used: Mapping[str, int]) -> None:
        self.state = state
        self.moment = moment
        self.budget_used = budget_used
        self.caps: Mapping[str, CapCounter] = state.caps
        self.marks: Mapping[str, FrequencyMark] = state.marks
        self.streaks: Mapping[str, StreakProgress] = state.streaks
        self.awards: list[Award] = []
        self.traces: list[RuleTrace] = []
        self.external_calls: list[ExternalCall] = []
        self.budget_consumed: dict[str, int] = {}
        self.grew = False
        """A map gained a key: time to drop entries the configuration no longer has."""

    def cap_counter(self, event_type: str) -> CapCounter:
        return caps.current(self.caps.get(event_type), self.moment)

    def budget_left(self, rule: CompiledRule) -> int | None:
        if rule.budget_max is None:
            return None
        used = self.budget_used.get(rule.rule_id, 0) + self.budget_consumed.get(rule.rule_id, 0)
        return max(0, rule.budget_max - used)

    def pay(self, rule: CompiledRule, counter: CapCounter, points: int) -> None:
        """Book `points` (> 0) for `rule`: award, cap counter, frequency mark, budget use."""
        self.awards.append(Award(rule.rule_id, rule.version, rule.kind, points))
        self.grew |= rule.event_type not in self.caps
        self.caps = {**self.caps, rule.event_type: caps.counted(counter, points)}
        if rule.frequency != "unlimited":
            self.grew |= rule.rule_id not in self.marks
            self.marks = {**self.marks, rule.rule_id: mark_for(self.moment)}
        if rule.budget_max is not None:
            self.budget_consumed[rule.rule_id] = self.budget_consumed.get(rule.rule_id, 0) + points

    def set_streak(self, rule_id: str, progress: StreakProgress) -> None:
        self.grew |= rule_id not in self.streaks
        self.streaks = {**self.streaks, rule_id: progress}

    def new_state(
        self, programme: CompiledProgramme, applied: Mapping[str, AppliedRecord]
    ) -> UserState:
        if not self.grew:
            return UserState(self.state.tier, self.caps, self.marks, self.streaks, applied)
        return UserState(
            tier=self.state.tier,
            caps=_pruned(self.caps, programme.parameters),
            marks=_pruned(self.marks, programme.rules_by_id),
            streaks=_pruned(self.streaks, programme.rules_by_id),
            applied=applied,
        )


def _pruned(current: Mapping[str, V], known: Mapping[str, object]) -> Mapping[str, V]:
    # Entries for event types or rules the configuration no longer has are dropped whenever a
    # map grows, so each map stays bounded by the configuration's size.
    return {key: value for key, value in current.items() if key in known}

"""One decision in progress: the event's context, and the changes it makes, gathered before the
new `UserState` is built.

One object per event carries everything the rules need (context, local moment, multipliers) and
everything they change (maps, awards, facts), so the hot path passes one argument around.
Maps are copied on first write only (and written in place after that), so an event that changes
nothing copies nothing and the caller's state is never modified.
"""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final, TypeVar

from processors.engine.amounts import SCALE
from processors.engine.compile import CompiledProgramme, CompiledRule
from processors.engine.explain import Fact
from processors.engine.outcomes import Award, ExternalCall
from processors.engine.state import (
    CAP_DAY,
    CAP_DAY_POINTS,
    CAP_MONTH,
    CAP_MONTH_POINTS,
    AppliedRecord,
    CapCounter,
    FrequencyMark,
    ReturnableRecord,
    StreakProgress,
    UserState,
)
from schemas.events import EventV1

V = TypeVar("V")

_NOTHING: Final[Mapping[str, int]] = MappingProxyType({})
_CAPS: Final = 1
_MARKS: Final = 2
_STREAKS: Final = 4


class Draft:
    __slots__ = (
        "awards",
        "budget_consumed",
        "budget_used",
        "caps",
        "day",
        "epoch_us",
        "event",
        "event_id",
        "event_type",
        "external_calls",
        "external_points",
        "facts",
        "grown",
        "marks",
        "metadata",
        "month",
        "multiplier_e4",
        "owned",
        "partner",
        "partner_id",
        "programme",
        "state",
        "streaks",
        "tier",
    )

    def __init__(
        self,
        event: EventV1,
        state: UserState,
        programme: CompiledProgramme,
        external_points: Mapping[str, int],
        budget_used: Mapping[str, int],
    ) -> None:
        self.event = event
        # The event's fields are read once: a pydantic model's attribute is read through its
        # `__getattr__` hook, which costs more than the compiled engine's own work with it.
        self.event_id = event.event_id
        self.event_type = event.event_type
        self.state = state
        self.programme = programme
        self.metadata: dict[str, Any] = event.metadata
        self.epoch_us, self.day, self.month = programme.calendar.periods(event.occurred_at)
        # A tier the configuration no longer has falls back to the default tier.
        tier = state.tier
        self.tier = tier if tier is not None and tier in programme.tiers else programme.default_tier
        self.partner_id = partner_id = event.partner_id
        # An unknown partner is refused before any rule runs (see `decide`).
        self.partner = None if partner_id is None else programme.partners.get(partner_id)
        self.multiplier_e4 = programme.tiers[self.tier] * (
            SCALE if self.partner is None else self.partner.multiplier_e4
        )
        self.external_points = external_points
        self.budget_used = budget_used
        self.caps: dict[str, CapCounter] = state.caps
        self.marks: dict[str, FrequencyMark] = state.marks
        self.streaks: dict[str, StreakProgress] = state.streaks
        self.awards: list[Award] = []
        self.facts: list[Fact] = []
        # Rarely used: shared empty values until written (see `consume` and `call`).
        self.external_calls: tuple[ExternalCall, ...] = ()
        self.budget_consumed: Mapping[str, int] = _NOTHING
        self.grown = 0
        """Bit set of the maps that gained a key (`_CAPS`, ...): those may hold entries the
        configuration no longer has, to drop when the state is built."""
        self.owned = 0
        """Bit set of the maps already copied from the state's, which this draft may write to."""

    def cap_counter(self, event_type: str) -> CapCounter:
        """The event type's counter as of this event, any period that has ended reset to 0."""
        counter = self.caps.get(event_type)
        if counter is None:
            return [self.day, 0, self.month, 0]
        if counter[CAP_DAY] == self.day:
            return counter
        if counter[CAP_MONTH] == self.month:
            return [self.day, 0, self.month, counter[CAP_MONTH_POINTS]]
        return [self.day, 0, self.month, 0]

    def budget_left(self, rule: CompiledRule) -> int | None:
        if rule.budget_max is None:
            return None
        used = self.budget_used.get(rule.rule_id, 0) + self.budget_consumed.get(rule.rule_id, 0)
        return max(0, rule.budget_max - used)

    def pay(self, rule: CompiledRule, counter: CapCounter, points: int) -> None:
        """Book `points` (> 0) for `rule`: award, cap counter, frequency mark, budget use."""
        self.awards.append(Award(rule.rule_id, rule.version, rule.kind, points))
        counted = [counter[CAP_DAY], counter[CAP_DAY_POINTS] + points, counter[CAP_MONTH],
                   counter[CAP_MONTH_POINTS] + points]  # fmt: skip
        self.caps = self._written(_CAPS, self.caps, rule.event_type, counted)
        if rule.frequency != "unlimited":
            mark = [self.epoch_us, self.day, self.month]  # a `FrequencyMark`
            self.marks = self._written(_MARKS, self.marks, rule.rule_id, mark)
        if rule.budget_max is not None:
            consumed = self.budget_consumed
            self.budget_consumed = {
                **consumed,
                rule.rule_id: consumed.get(rule.rule_id, 0) + points,
            }

    def call(self, external_call: ExternalCall) -> None:
        self.external_calls = (*self.external_calls, external_call)

    def set_streak(self, rule_id: str, progress: StreakProgress) -> None:
        self.streaks = self._written(_STREAKS, self.streaks, rule_id, progress)

    def _written(
        self, which: int, current: dict[str, list[int]], key: str, value: list[int]
    ) -> dict[str, list[int]]:
        """The map `which` (`_CAPS`, `_MARKS` or `_STREAKS`) with `value` at `key`: the state's
        map is copied on the first write, this draft's own copy written in place after that."""
        if self.owned & which:
            own = current  # our copy
        else:
            own = dict(current)
            self.owned |= which
        size = len(own)
        own[key] = value
        if len(own) != size:
            self.grown |= which
        return own

    def new_state(
        self,
        applied: Mapping[str, AppliedRecord],
        returnable: dict[str, ReturnableRecord] | None = None,
    ) -> UserState:
        """`returnable`: the user's returnable records when this event changed them."""
        grown = self.grown
        state = self.state
        if returnable is None:
            returnable = state.returnable
        if not grown:
            return UserState(
                state.tier, self.caps, self.marks, self.streaks, applied, state.tiering,
                returnable,
            )  # fmt: skip
        known_rules = self.programme.rules_by_id
        return UserState(
            tier=state.tier,
            caps=_pruned(self.caps, self.programme.parameters) if grown & _CAPS else self.caps,
            marks=_pruned(self.marks, known_rules) if grown & _MARKS else self.marks,
            streaks=_pruned(self.streaks, known_rules) if grown & _STREAKS else self.streaks,
            applied=applied,
            tiering=state.tiering,
            returnable=returnable,
        )


def _pruned(current: dict[str, V], known: Mapping[str, object]) -> dict[str, V]:
    # Entries for event types or rules the configuration no longer has are dropped whenever a
    # map grows, so each map stays bounded by the configuration's size. The key-set test runs in
    # C and almost always passes, sparing the copy.
    if current.keys() <= known.keys():
        return current
    return {key: value for key, value in current.items() if key in known}

"""The engine's answer for one event."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from processors.engine.explain import Explanation
from processors.engine.outcomes import Award, ExternalCall, ReturnAsk
from processors.engine.state import UserState

DecisionStatus = Literal[
    "awarded",  # at least one award (a redemption's debit counts as one)
    "no_points",  # accepted, 0 points: no rule matched, or caps/frequency/budget left nothing
    "invalid_event",  # accepted and logged with 0 points: bad parameters, partner, tier
    "needs_external_points",  # call `external_calls`, then decide again with their amounts
    "duplicate",  # already applied: the original points and awards, state unchanged
]


# `init=False` and a written `__init__`: compiled with mypyc, a dataclass's generated
# `__init__` would run interpreted, for every decision.
@dataclass(slots=True, init=False)  # treated as immutable; frozen=True costs 4x per instance
class Decision:
    event_id: str
    status: DecisionStatus
    points: int
    """Net points for the user: earn awards minus redemptions."""
    awards: tuple[Award, ...]
    state: UserState
    explanation: Explanation
    external_calls: tuple[ExternalCall, ...]
    budget_consumed: Mapping[str, int]
    """Points this decision took from each rule's global budget; add them to the global table.
    Empty for a duplicate, so adding blindly never counts an event twice."""
    original_occurred_at_us: int | None
    """A duplicate's original event time (epoch microseconds) where it differs from this
    event's: the bookings carry the original's, so the command is the original's exactly."""
    returning: ReturnAsk | None
    """A return's request (`schemas.ledger.ReturnRequest`): the ledger books what it takes
    back. None for every other decision."""

    def __init__(
        self,
        event_id: str,
        status: DecisionStatus,
        points: int,
        awards: tuple[Award, ...],
        state: UserState,
        explanation: Explanation,
        external_calls: tuple[ExternalCall, ...] = (),
        budget_consumed: Mapping[str, int] | None = None,
    ) -> None:
        self.event_id = event_id
        self.status = status
        self.points = points
        self.awards = awards
        self.state = state
        self.explanation = explanation
        self.external_calls = external_calls
        self.budget_consumed = {} if budget_consumed is None else budget_consumed
        self.original_occurred_at_us = None
        self.returning = None

    @property
    def reason(self) -> str | None:
        """Why there are no points (None when there are); for a duplicate, which outcome it
        repeats. The explanation's, derived from its traces only when read: most decisions are
        never asked."""
        return self.explanation.reason

"""Why a decision came out as it did: every rule tried and what happened to it.

The hot path does not write explanation text. It records `Fact`s, each a renderer and the few
values it needs, and the `Explanation` renders them into `RuleTrace`s the first time anyone reads
`rules`, `reason` or `to_dict()` (then drops the facts). Most decisions are never explained in a
bench, and a processor explains each one exactly once (the ledger command), so this only moves
the cost to where it is needed. Renderers are pure functions of their arguments, so the text is
the same whenever it is rendered. Facts hold rule objects, calendar marks and the event's
metadata, never a `UserState`: explanations live in later states, and holding states would
chain them together.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

from processors.engine.exceptions import StateDecodeError
from schemas.reasons import ReasonCode

OUTCOMES: Final = frozenset(
    {
        "awarded",  # the rule paid points (possibly cut by caps or budget)
        "cut_to_zero",  # the rule matched but caps or budget left nothing
        "condition_failed",
        "outside_window",
        "frequency_limited",
        "needs_external_points",
        "streak_progress",  # counted towards a streak that is not complete yet
        "not_counted",  # a streak rule that did not count this event (late, expired, done)
        "not_triggerable",  # an API-triggered rule the event may not trigger
        "invalid_amount",
    }
)
_NOT_MATCHED: Final = frozenset({"condition_failed", "outside_window", "not_triggerable"})
OUTCOME_CODES: Final[dict[str, ReasonCode]] = {
    "condition_failed": ReasonCode.CONDITIONS_NOT_MET,
    "outside_window": ReasonCode.OUTSIDE_WINDOW,
    "frequency_limited": ReasonCode.FREQUENCY,
    "streak_progress": ReasonCode.STREAK_PROGRESS,
    "not_counted": ReasonCode.STREAK_NOT_COUNTED,
    "not_triggerable": ReasonCode.NOT_TRIGGERABLE,
    "invalid_amount": ReasonCode.INVALID_AMOUNT,
}
"""The reason code of each outcome that is its own reason; a cut's code is the cut's."""


@dataclass(slots=True)  # treated as immutable; frozen=True would cost 4x per instance
class RuleTrace:
    rule_id: str
    rule_version: int
    outcome: str
    detail: str
    points: int = 0
    reason_code: str | None = None
    """Why the rule paid nothing or less than its amount (`schemas.reasons.ReasonCode`)."""
    reason: str | None = None
    """For a cut: the cut that decided the amount, in words ("daily cap 20: cut from 5 to 3")."""


Renderer = Callable[..., Iterable[RuleTrace]]
Fact = tuple[Renderer, *tuple[Any, ...]]
"""`(renderer, *arguments)`: `renderer(*arguments)` gives the traces. A tuple, not an object:
several are made for every event."""


class Pending(Enum):
    """Marks a reason to derive from the traces when first read."""

    REASON = "pending"


PENDING_REASON: Final = Pending.REASON


class Explanation:
    """Treated as immutable: the memo of rendered traces never changes what is read."""

    __slots__ = (
        "_facts",
        "_reason",
        "_reason_code",
        "_rules",
        "event_type",
        "given_back",
        "programme_version",
        "status",
        "tier",
        "tier_change",
    )

    def __init__(
        self,
        programme_version: int,
        event_type: str,
        tier: str | None,
        status: str,
        reason: str | None | Pending,
        rules: tuple[RuleTrace, ...] | None = (),
        facts: Iterable[Fact] = (),
        reason_code: str | None | Pending = PENDING_REASON,
    ) -> None:
        """`rules=None` with `facts`: render the traces from the facts on first read.
        `reason=PENDING_REASON`: derive it from the traces (decisions without points, and
        awards a cap or budget cut). `reason_code`: derived from the status and the traces
        unless given."""
        self.programme_version = programme_version
        self.event_type = event_type
        self.tier = tier
        self.status = status
        self._reason = reason
        self._reason_code = reason_code
        self._rules = rules
        self._facts = facts
        self.tier_change: dict[str, Any] | None = None
        """What the decision did to the user's tier (`tiering.TierChange.to_dict`), if anything:
        set after construction, by the few decisions that change it."""
        self.given_back: dict[str, Any] | None = None
        """What a return gave back of its original's caps and budgets, and why
        (`returns.GivenBack`): set after construction, on a return's decision only."""

    @property
    def rules(self) -> tuple[RuleTrace, ...]:
        if self._rules is None:
            self._rules = tuple(trace for fact in self._facts for trace in fact[0](*fact[1:]))
            self._facts = ()
        return self._rules

    @property
    def reason(self) -> str | None:
        if self._reason is PENDING_REASON:
            if self.status == "awarded":
                self._reason = cut_reason(self.rules)
            else:
                self._reason = no_points_reason(self.event_type, self.rules)
        return self._reason

    @property
    def reason_code(self) -> str | None:
        """Why the event earned nothing or less than its rules' amounts
        (`schemas.reasons.ReasonCode`); None for a full award."""
        if self._reason_code is PENDING_REASON:
            self._reason_code = derived_reason_code(self.status, self.rules)
        return self._reason_code

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: strings, ints, lists, dicts and None only."""
        return {
            "programme_version": self.programme_version,
            "event_type": self.event_type,
            "tier": self.tier,
            "status": self.status,
            "reason_code": self.reason_code,
            "reason": self.reason,
            "rules": [
                {
                    "rule_id": t.rule_id,
                    "rule_version": t.rule_version,
                    "outcome": t.outcome,
                    "detail": t.detail,
                    "points": t.points,
                    "reason_code": t.reason_code,
                    "reason": t.reason,
                }
                for t in self.rules
            ],
            **({} if self.tier_change is None else {"tier_change": self.tier_change}),
            **({} if self.given_back is None else {"given_back": self.given_back}),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "Explanation":
        try:
            rules = tuple(RuleTrace(**trace) for trace in raw["rules"])
            explanation = cls(
                programme_version=raw["programme_version"],
                event_type=raw["event_type"],
                tier=raw["tier"],
                status=raw["status"],
                reason=raw["reason"],
                rules=rules,
                # Explanations stored before reason codes existed have none.
                reason_code=raw.get("reason_code"),
            )
            explanation.tier_change = raw.get("tier_change")
            explanation.given_back = raw.get("given_back")
            return explanation
        except (KeyError, TypeError) as exc:
            raise StateDecodeError(f"malformed explanation: {exc}") from exc

    def _key(self) -> tuple[object, ...]:
        return (
            self.programme_version,
            self.event_type,
            self.tier,
            self.status,
            self.reason_code,
            self.reason,
            self.rules,
            self.tier_change,
            self.given_back,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Explanation):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]  # mutable memo, value equality: unhashable

    def __repr__(self) -> str:
        return f"Explanation{self._key()!r}"


def no_points_reason(event_type: str, traces: tuple[RuleTrace, ...]) -> str:
    if not traces:
        return f"no rule for event type '{event_type}'"
    decisive = _decisive(traces)
    if decisive is None:
        return "no rule matched" if len(traces) > 1 else traces[0].detail
    return f"rule '{decisive.rule_id}': {decisive.reason or decisive.detail}"


def cut_reason(traces: tuple[RuleTrace, ...]) -> str | None:
    """An award's reason: the cuts that made a paying rule pay less than its amount."""
    cuts = [f"rule '{t.rule_id}': {t.reason}" for t in traces if t.points and t.reason]
    return "; ".join(cuts) or None


def derived_reason_code(status: str, traces: tuple[RuleTrace, ...]) -> str | None:
    if status == "awarded":
        return next((t.reason_code for t in traces if t.points and t.reason_code), None)
    if status == "duplicate":
        return ReasonCode.DUPLICATE
    if status != "no_points":
        return None
    if not traces:
        return ReasonCode.NO_RULE
    decisive = _decisive(traces)
    return (traces[0] if decisive is None else decisive).reason_code


def _decisive(traces: tuple[RuleTrace, ...]) -> RuleTrace | None:
    """The first trace of a rule that matched: what decided an event without points."""
    return next((t for t in traces if t.outcome not in _NOT_MATCHED), None)

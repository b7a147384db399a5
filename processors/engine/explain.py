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


@dataclass(slots=True)  # treated as immutable; frozen=True would cost 4x per instance
class RuleTrace:
    rule_id: str
    rule_version: int
    outcome: str
    detail: str
    points: int = 0


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

    __slots__ = ("_facts", "_reason", "_rules", "event_type", "programme_version", "status", "tier")

    def __init__(
        self,
        programme_version: int,
        event_type: str,
        tier: str | None,
        status: str,
        reason: str | None | Pending,
        rules: tuple[RuleTrace, ...] | None = (),
        facts: Iterable[Fact] = (),
    ) -> None:
        """`rules=None` with `facts`: render the traces from the facts on first read.
        `reason=PENDING_REASON`: derive it from the traces (decisions without points)."""
        self.programme_version = programme_version
        self.event_type = event_type
        self.tier = tier
        self.status = status
        self._reason = reason
        self._rules = rules
        self._facts = facts

    @property
    def rules(self) -> tuple[RuleTrace, ...]:
        if self._rules is None:
            self._rules = tuple(trace for fact in self._facts for trace in fact[0](*fact[1:]))
            self._facts = ()
        return self._rules

    @property
    def reason(self) -> str | None:
        if self._reason is PENDING_REASON:
            self._reason = no_points_reason(self.event_type, self.rules)
        return self._reason

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: strings, ints, lists, dicts and None only."""
        return {
            "programme_version": self.programme_version,
            "event_type": self.event_type,
            "tier": self.tier,
            "status": self.status,
            "reason": self.reason,
            "rules": [
                {
                    "rule_id": t.rule_id,
                    "rule_version": t.rule_version,
                    "outcome": t.outcome,
                    "detail": t.detail,
                    "points": t.points,
                }
                for t in self.rules
            ],
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "Explanation":
        try:
            rules = tuple(RuleTrace(**trace) for trace in raw["rules"])
            return cls(
                programme_version=raw["programme_version"],
                event_type=raw["event_type"],
                tier=raw["tier"],
                status=raw["status"],
                reason=raw["reason"],
                rules=rules,
            )
        except (KeyError, TypeError) as exc:
            raise StateDecodeError(f"malformed explanation: {exc}") from exc

    def _key(self) -> tuple[object, ...]:
        return (
            self.programme_version,
            self.event_type,
            self.tier,
            self.status,
            self.reason,
            self.rules,
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
    decisive = next((t for t in traces if t.outcome not in _NOT_MATCHED), None)
    if decisive is None:
        return "no rule matched" if len(traces) > 1 else traces[0].detail
    return f"rule '{decisive.rule_id}': {decisive.detail}"

"""Why a decision came out as it did: every rule tried and what happened to it.

Explanations are slotted dataclasses: orjson serialises them natively (for the state and the
ledger command), and `to_dict` gives the same JSON-able dict to anyone else.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson

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


@dataclass(slots=True)  # treated as immutable; frozen=True would cost 4x per instance
class RuleTrace:
    rule_id: str
    rule_version: int
    outcome: str
    detail: str
    points: int = 0


@dataclass(slots=True)  # treated as immutable; frozen=True would cost 4x per instance
class Explanation:
    programme_version: int
    event_type: str
    tier: str | None
    status: str
    reason: str | None
    rules: tuple[RuleTrace, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: strings, ints, lists, dicts and None only."""
        result: dict[str, Any] = orjson.loads(orjson.dumps(self))
        return result

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

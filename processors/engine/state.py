"""Per-(programme, user) state: what the engine must remember between one user's events.

Bounded by construction:
- `caps`: one counter per event type, holding only the current local day and month;
- `marks` and `streaks`: at most one entry per rule of the programme (entries of rules that no
  longer exist are dropped whenever the map is rewritten);
- `applied`: the last `APPLIED_MAX` (32) applied event ids with their decisions. Redelivery after
  a processor restart replays the records since the last committed offset, seconds of one
  user's traffic, far fewer than 32 events; an older redelivery is still caught by the ledger's
  idempotency keys (`event_id:rule_id`), it only counts again towards caps. 32 decisions with
  their explanations keep the serialised state around 10 KB at worst.

Global rule budgets are not here: they span all users (see `decide`'s `budget_used`).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import orjson

from processors.engine.exceptions import StateDecodeError
from processors.engine.explain import Explanation
from processors.engine.outcomes import Award


class CapCounter(NamedTuple):
    """Points from one event type in the current local day and month."""

    day: int
    day_points: int
    month: int
    month_points: int


class FrequencyMark(NamedTuple):
    """When a rule last paid: the instant and its local day and month."""

    at_us: int
    day: int
    month: int


class StreakProgress(NamedTuple):
    """`day`: local day of the last counted event (0 for deadline streaks); `events`: events
    counted that day (or in total), `STREAK_DONE_TODAY` after a completion; `days`: complete
    consecutive days before `day`."""

    day: int
    events: int
    days: int


STREAK_DONE_TODAY = -1


class AppliedRecord(NamedTuple):
    """An applied event's decision, to answer a redelivery with the original outcome. The
    explanation stays a plain dict after decoding: it is only read back on a redelivery."""

    status: str
    points: int
    awards: tuple[Award, ...]
    reason: str | None
    explanation: Explanation | Mapping[str, Any]


@dataclass(slots=True)  # treated as immutable; frozen=True would cost 4x per instance
class UserState:
    """Immutable: `decide` returns a new state and never changes the one it was given."""

    APPLIED_MAX: ClassVar[int] = 32
    FORMAT: ClassVar[int] = 1

    tier: str | None = None
    caps: Mapping[str, CapCounter] = field(default_factory=dict)
    marks: Mapping[str, FrequencyMark] = field(default_factory=dict)
    streaks: Mapping[str, StreakProgress] = field(default_factory=dict)
    applied: Mapping[str, AppliedRecord] = field(default_factory=dict)

    @classmethod
    def initial(cls) -> "UserState":
        return cls()

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {
                "format": self.FORMAT,
                "tier": self.tier,
                "caps": self.caps,
                "marks": self.marks,
                "streaks": self.streaks,
                "applied": self.applied,
            },
            default=_named_tuple_as_list,
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> "UserState":
        try:
            raw = orjson.loads(data)
            if raw["format"] != cls.FORMAT:
                raise StateDecodeError(f"unknown user state format {raw['format']!r}")
            return cls(
                tier=raw["tier"],
                caps={k: CapCounter(*v) for k, v in raw["caps"].items()},
                marks={k: FrequencyMark(*v) for k, v in raw["marks"].items()},
                streaks={k: StreakProgress(*v) for k, v in raw["streaks"].items()},
                applied={k: _record(v) for k, v in raw["applied"].items()},
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise StateDecodeError(f"malformed user state: {exc!r}") from exc


def _named_tuple_as_list(value: Any) -> list[Any]:
    # orjson serialises plain tuples natively but not tuple subclasses such as NamedTuple.
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not part of a user state")


def _record(raw: list[Any]) -> AppliedRecord:
    status, points, awards, reason, explanation = raw
    return AppliedRecord(status, points, tuple(Award(**a) for a in awards), reason, explanation)

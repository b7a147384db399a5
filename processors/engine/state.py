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
from typing import Any, ClassVar, Final, NamedTuple

import orjson

from processors.engine.applied import AppliedWindow
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
APPLIED_MAX: Final = 32
_RAW_RECORD_LENGTH = 5


class AppliedRecord:
    """An applied event's decision, to answer a redelivery with the original outcome. Its status
    and reason are the explanation's."""

    __slots__ = ("awards", "explanation", "points")

    def __init__(self, points: int, awards: tuple[Award, ...], explanation: Explanation) -> None:
        self.points = points
        self.awards = awards
        self.explanation = explanation

    def __eq__(self, other: object) -> bool:
        # A stored record equals the live one it was written from.
        if isinstance(other, list):
            other = decoded(other)
        if not isinstance(other, AppliedRecord):
            return NotImplemented
        return (self.points, self.awards, self.explanation) == (
            other.points,
            other.awards,
            other.explanation,
        )

    __hash__ = None  # type: ignore[assignment]  # value equality over an unhashable memo

    def __repr__(self) -> str:
        return f"AppliedRecord({self.points!r}, {self.awards!r}, {self.explanation!r})"

    def as_raw(self) -> "RawRecord":
        explanation = self.explanation
        # orjson writes the awards (slotted dataclasses) as objects natively.
        return [
            explanation.status,
            self.points,
            self.awards,
            explanation.reason,
            explanation.to_dict(),
        ]


RawRecord = list[Any]
"""A decoded record, `[status, points, awards, reason, explanation]` as stored: kept as decoded
(and stored again as is) until a redelivery reads it, because most never are."""


_NO_RECORDS: Final[AppliedWindow[AppliedRecord | RawRecord]] = AppliedWindow(APPLIED_MAX, {}, {})


def decoded(raw: RawRecord) -> AppliedRecord:
    """A stored record as a live one (on a redelivery)."""
    try:
        _status, points, awards, _reason, explanation = raw
        return AppliedRecord(
            points, tuple(Award(**a) for a in awards), Explanation.from_dict(explanation)
        )
    except (TypeError, ValueError) as exc:
        raise StateDecodeError(f"malformed applied record: {exc!r}") from exc


@dataclass(slots=True)  # treated as immutable; frozen=True would cost 4x per instance
class UserState:
    """Immutable: `decide` returns a new state and never changes the one it was given."""

    APPLIED_MAX: ClassVar[int] = APPLIED_MAX
    FORMAT: ClassVar[int] = 1

    tier: str | None = None
    caps: Mapping[str, CapCounter] = field(default_factory=dict)
    marks: Mapping[str, FrequencyMark] = field(default_factory=dict)
    streaks: Mapping[str, StreakProgress] = field(default_factory=dict)
    applied: Mapping[str, AppliedRecord | RawRecord] = field(default_factory=lambda: _NO_RECORDS)

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
            default=_as_json,
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
                applied=AppliedWindow.of(APPLIED_MAX, _raw_records(raw["applied"])),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise StateDecodeError(f"malformed user state: {exc!r}") from exc


def _as_json(value: Any) -> Any:
    # orjson serialises plain tuples natively but not tuple subclasses such as NamedTuple.
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, AppliedRecord):
        return value.as_raw()
    if isinstance(value, AppliedWindow):
        return value.as_dict()
    raise TypeError(f"{type(value).__name__} is not part of a user state")


def _raw_records(applied: dict[str, Any]) -> dict[str, RawRecord]:
    # Checked for shape only; the content is decoded if a redelivery ever needs it (`decoded`).
    for record in applied.values():
        if type(record) is not list or len(record) != _RAW_RECORD_LENGTH:
            raise StateDecodeError(f"malformed applied record: {record!r}"[:200])
    return applied

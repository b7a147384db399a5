"""Per-(programme, user) state: what the engine must remember between one user's events.

Bounded by construction:
- `caps`: one counter per event type, holding only the current local day and month;
- `marks` and `streaks`: at most one entry per rule of the programme (entries of rules that no
  longer exist are dropped whenever the map is rewritten);
- `applied`: the last `APPLIED_MAX` (32) applied event ids, each with only what a redelivery
  needs to book the same again: the awards (rule id, version, signed points), or for an event
  without awards its status and reason (at most `REASON_MAX` characters). Not the explanation:
  the ledger stores the first one and compares only what is booked. Redelivery after a
  processor restart replays the records since the last committed offset, seconds of one user's
  traffic, far fewer than 32 events; an older redelivery is still caught by the ledger's
  idempotency keys (`event_id:rule_id`), it only counts again towards caps. A record is about
  40 bytes, so a user with all 32 records and ten event types' counters, marks and streaks
  stores under 2 KB.
- `returnable`: per awarded event a return may take back, what a return gives back of the caps
  and budgets its awards used (`processors.engine.returnable`): only awards whose cap period is
  still current or that used a rule budget, at most `RETURNABLE_MAX` (64), each with at most
  `RETURNS_MAX` (8) returns of it; about 100 bytes a record.

Stored as a positional JSON array (see `to_bytes`): the state is decoded and encoded again for
every event, and arrays cost neither the key names' bytes nor their parsing.

Global rule budgets are not here: they span all users (see `decide`'s `budget_used`).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

import orjson

from processors.engine.applied import AppliedWindow
from processors.engine.exceptions import StateDecodeError
from processors.engine.explain import Explanation
from processors.engine.outcomes import Award

# The three maps' values are positional lists of ints, as stored: a decoded state is used as
# orjson returns it and encoded again without a conversion per entry (objects per entry cost
# more than the rest of a decode). Readers unpack them into named locals. Treated as immutable:
# a change is a new list.
CapCounter = list[int]
"""`[day, day_points, month, month_points]`: points from one event type in the current local
day and month."""
CAP_DAY: Final = 0
CAP_DAY_POINTS: Final = 1
CAP_MONTH: Final = 2
CAP_MONTH_POINTS: Final = 3
FrequencyMark = list[int]
"""`[at_us, day, month]`: when a rule last paid, the instant and its local day and month."""
StreakProgress = list[int]
"""`[day, events, days]`. `day`: local day of the last counted event (0 for deadline streaks);
`events`: events counted that day (or in total), `STREAK_DONE_TODAY` after a completion;
`days`: complete consecutive days before `day`."""

STREAK_DONE_TODAY = -1
STATE_FORMAT: Final = 4
"""Format 4 added `returnable` (an eighth element), format 3 `tiering` (a seventh); format 3
states (seven elements) and format 2 states (six) are still read."""
_FORMAT_OF_LENGTH: Final = {8: STATE_FORMAT, 7: 3, 6: 2}
APPLIED_MAX: Final = 32
REASON_MAX: Final = 200
"""Characters of an applied event's reason kept for a redelivery's explanation: bounds the
record whatever the reason (a parameter problem may quote a long value)."""

RawRecord = list[Any]
"""An applied event as stored, positional:
- awarded: `[occurred_at_us, rule_id, rule_version, signed_points, ...]`: the event's time
  (epoch microseconds), then one triple per award in booking order, a redemption's points
  negative (award points are always > 0, so the sign is the kind). The time is kept so that a
  duplicate books exactly what the original booked, time included, even when its own
  `occurred_at` differs (two racing retries the gateway stamped apart). Records written before
  the time was kept are the triples alone, and are still read;
  Records written before format 4 of an event a return type may take back also keep
  `"{event_type}\x1f{amount}"` last (its amount as an exact decimal's text), for a return to
  give back the caps it used; since format 4 that is in `returnable` instead;
- no awards: `[status, reason]` (a return: `["returned", "{original_event_id}\x1f{amount}"]`).
Kept as decoded (and encoded again as is) until a redelivery reads it: most never are."""


class PendingRecord:
    """A decision without awards, stored as `[status, reason]` once its reason is known. The
    reason is derived from the explanation's traces, which costs more than the decision, so it
    is rendered only when the state is encoded or the event redelivered."""

    __slots__ = ("explanation",)

    def __init__(self, explanation: Explanation) -> None:
        self.explanation = explanation

    def as_raw(self) -> RawRecord:
        return reason_record(self.explanation.status, self.explanation.reason or "")

    def __eq__(self, other: object) -> bool:
        # Equal to the stored record it encodes to, so decoded states compare equal.
        if isinstance(other, PendingRecord):
            other = other.as_raw()
        if not isinstance(other, list):
            return NotImplemented
        return self.as_raw() == other

    __hash__ = None  # type: ignore[assignment]  # value equality over a mutable memo

    def __repr__(self) -> str:
        return f"PendingRecord({self.as_raw()!r})"


AppliedRecord = RawRecord | PendingRecord

ReturnableRecord = list[Any]
"""`[day, month, event_type, amount, returned, return_ids, *awards]` (`returnable`): the local
day and month of an awarded event a return may take back, its type, its amount and the sum of
what its returns so far returned (exact decimals' text), the ids of those returns, then one
`rule_id, points, budget_points` triple per earn award (`budget_points`: what the award took
from the rule's budget, 0 for a rule without one)."""
RETURNABLE_AWARDS: Final = 6
"""Index of a returnable record's first award triple."""

_NO_RECORDS: Final[AppliedWindow[AppliedRecord]] = AppliedWindow.empty(APPLIED_MAX)
_NO_RETURNABLE: Final[dict[str, ReturnableRecord]] = {}  # shared, never written to
_CAP_LENGTH: Final = 4
_MARK_LENGTH: Final = 3
_STREAK_LENGTH: Final = 3
_CAP_FIELDS: Final = frozenset({_CAP_LENGTH})
_MARK_FIELDS: Final = frozenset({_MARK_LENGTH})
_STREAK_FIELDS: Final = frozenset({_STREAK_LENGTH})
_LISTS: Final = frozenset({list})


# `init=False` and a written `__init__`: compiled with mypyc, a dataclass's generated
# `__init__` would run interpreted, for every decision.
@dataclass(slots=True, init=False)  # treated as immutable; frozen=True costs 4x per instance
class UserState:
    """Immutable: `decide` returns a new state and never changes the one it was given."""

    tier: str | None
    caps: dict[str, CapCounter]
    marks: dict[str, FrequencyMark]
    streaks: dict[str, StreakProgress]
    applied: Mapping[str, AppliedRecord]
    tiering: list[int] | None
    """`tiering.TierProgress`: the tier's review day and the points earned per month, for a
    programme with a tier policy; None until the user first earns there or is assigned a tier.
    Treated as immutable."""
    returnable: dict[str, ReturnableRecord]
    """`returnable.ReturnableRecord` by event id, oldest first: the awards a return may still
    give caps and budgets back for. Treated as immutable: a change is a new dict."""

    def __init__(
        self,
        tier: str | None = None,
        caps: dict[str, CapCounter] | None = None,
        marks: dict[str, FrequencyMark] | None = None,
        streaks: dict[str, StreakProgress] | None = None,
        applied: Mapping[str, AppliedRecord] | None = None,
        tiering: list[int] | None = None,
        returnable: dict[str, ReturnableRecord] | None = None,
    ) -> None:
        self.tier = tier
        self.caps = {} if caps is None else caps
        self.marks = {} if marks is None else marks
        self.streaks = {} if streaks is None else streaks
        self.applied = _NO_RECORDS if applied is None else applied
        self.tiering = tiering
        self.returnable = _NO_RETURNABLE if returnable is None else returnable

    @classmethod
    def initial(cls) -> "UserState":
        return cls()

    def to_bytes(self) -> bytes:
        """`[format, tier, caps, marks, streaks, applied, tiering, returnable]`: the maps as
        objects of arrays, `applied` as `{event_id: RawRecord}` and `returnable` as
        `{event_id: ReturnableRecord}`, oldest first; `tiering` an array or null."""
        applied = self.applied
        return orjson.dumps(
            [
                STATE_FORMAT,
                self.tier,
                self.caps,
                self.marks,
                self.streaks,
                applied.for_encoding() if isinstance(applied, AppliedWindow) else dict(applied),
                self.tiering,
                self.returnable,
            ],
            default=_as_json,
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> "UserState":
        try:
            raw = orjson.loads(data)
            if type(raw) is not list or len(raw) not in _FORMAT_OF_LENGTH:
                raise StateDecodeError(f"malformed user state: {data[:100]!r}")
            format_, tier, caps, marks, streaks, applied = raw[:6]
            if format_ != _FORMAT_OF_LENGTH[len(raw)]:
                raise StateDecodeError(f"unknown user state format {format_!r}")
            tiering = raw[6] if len(raw) >= 7 else None
            returnable = _returnable_records(raw[7]) if len(raw) == 8 else None
            if tiering is not None and not _tier_progress(tiering):
                raise StateDecodeError(f"malformed tier progress {tiering!r}"[:200])
            if tier is not None and type(tier) is not str:
                raise StateDecodeError(f"malformed tier {tier!r}")
            if not _well_shaped(caps, marks, streaks, applied):  # then find which is not
                caps = _checked(caps, _CAP_FIELDS)
                marks = _checked(marks, _MARK_FIELDS)
                streaks = _checked(streaks, _STREAK_FIELDS)
                applied = _raw_records(applied)
            window = AppliedWindow.of(APPLIED_MAX, applied, owned=True)
            return cls(tier, caps, marks, streaks, window, tiering, returnable)
        except (orjson.JSONDecodeError, TypeError, AttributeError) as exc:
            raise StateDecodeError(f"malformed user state: {exc!r}") from exc


class AppliedOutcome(NamedTuple):
    """An applied event's outcome as a redelivery reads it back. `occurred_at_us`: the applied
    event's time, None for a record without awards or one stored before times were kept."""

    status: str
    points: int
    awards: tuple[Award, ...]
    reason: str | None
    occurred_at_us: int | None = None


def awards_record(awards: tuple[Award, ...], occurred_at_us: int) -> tuple[int, RawRecord]:
    """(net points, the stored record) of a decision with awards, built in one pass."""
    points = 0
    record: RawRecord = [occurred_at_us]
    for award in awards:  # a loop, not sum(generator): this runs for every event
        signed = award.points if award.kind == "earn" else -award.points
        points += signed
        record += (award.rule_id, award.rule_version, signed)
    return points, record


def reason_record(status: str, reason: str) -> RawRecord:
    """The stored record of a decision without awards whose reason is already known."""
    return [status, reason[:REASON_MAX]]


def applied_outcome(record: AppliedRecord) -> AppliedOutcome:
    """The outcome a stored record describes, checked: a redelivery books its awards again."""
    raw = record.as_raw() if isinstance(record, PendingRecord) else record
    if len(raw) % 3 == 2 and len(raw) > 2 and type(raw[-1]) is str:
        raw = raw[:-1]  # a returnable event's type and amount (`returnable_of`)
    if len(raw) == 2:
        status, reason = raw
        if type(status) is not str or type(reason) is not str:
            raise StateDecodeError(f"malformed applied record: {raw!r}"[:200])
        return AppliedOutcome(status, 0, (), reason)
    timed = len(raw) % 3 == 1
    occurred_at_us = raw[0] if timed else None
    if len(raw) < 3 or len(raw) % 3 == 2 or (timed and type(occurred_at_us) is not int):
        raise StateDecodeError(f"malformed applied record: {raw!r}"[:200])
    points, awards = 0, []
    for index in range(1 if timed else 0, len(raw), 3):
        rule_id, version, signed = raw[index : index + 3]
        if type(rule_id) is not str or type(version) is not int or type(signed) is not int:
            raise StateDecodeError(f"malformed applied record: {raw!r}"[:200])
        if signed == 0:
            raise StateDecodeError(f"applied record with a 0-point award: {raw!r}"[:200])
        awards.append(Award(rule_id, version, "earn" if signed > 0 else "redeem", abs(signed)))
        points += signed
    return AppliedOutcome("awarded", points, tuple(awards), None, occurred_at_us)


RETURNED_STATUS: Final = "returned"
SEPARATOR: Final = "\x1f"


def returnable_of(record: AppliedRecord) -> tuple[str, str] | None:
    """(event type, amount) an awarded returnable event's record keeps; None for any other."""
    if isinstance(record, PendingRecord) or len(record) % 3 != 2 or len(record) < 5:
        return None
    last = record[-1]
    if type(last) is not str or SEPARATOR not in last:
        return None
    event_type, _, amount = last.partition(SEPARATOR)
    return event_type, amount


def return_record(original_event_id: str, amount: str) -> RawRecord:
    """A return's record: what it returned of which original (its reason's place)."""
    return [RETURNED_STATUS, f"{original_event_id}{SEPARATOR}{amount}"]


def returned_of(record: AppliedRecord) -> tuple[str, str] | None:
    """(original event id, amount) of a return's record; None for any other."""
    if isinstance(record, PendingRecord) or len(record) != 2 or record[0] != RETURNED_STATUS:
        return None
    text = record[1]
    if type(text) is not str or SEPARATOR not in text:
        return None
    original, _, amount = text.partition(SEPARATOR)
    return original, amount


def _as_json(value: Any) -> Any:
    if isinstance(value, PendingRecord):
        return value.as_raw()
    raise TypeError(f"{type(value).__name__} is not part of a user state")


def _well_shaped(
    caps: dict[str, Any], marks: dict[str, Any], streaks: dict[str, Any], applied: dict[str, Any]
) -> bool:
    """All four maps' shapes in one go; `_checked` and `_raw_records` word the problem when
    there is one. Plain loops: compiled, a type and length test per value costs less than the
    sets of types and lengths this once built (`set(map(type, ...))` calls `type` through
    Python for every value)."""
    if not type(caps) is type(marks) is type(streaks) is type(applied) is dict:
        return False
    return (
        _lists_of(caps, _CAP_LENGTH)
        and _lists_of(marks, _MARK_LENGTH)
        and _lists_of(streaks, _STREAK_LENGTH)
        and _lists_of(applied, 0)
    )


def _lists_of(entries: dict[str, Any], length: int) -> bool:
    """Every value a list, of `length` items (0: any length but empty)."""
    for value in entries.values():
        if type(value) is not list:
            return False
        size = len(value)
        if size != length if length else not size:
            return False
    return True


def _returnable_records(returnable: Any) -> dict[str, ReturnableRecord]:
    # Shape only, as `_checked`: lists long enough for one award, whole triples after the head.
    # The content is checked when a return reads the record (`returnable.held`).
    if type(returnable) is not dict:
        raise StateDecodeError(f"malformed returnable records: {returnable!r}"[:200])
    if not returnable:
        return _NO_RETURNABLE
    records = returnable.values()
    if not set(map(type, records)) <= _LISTS or any(
        len(record) < RETURNABLE_AWARDS + 3 or (len(record) - RETURNABLE_AWARDS) % 3
        for record in records
    ):
        raise StateDecodeError(f"malformed returnable records: {returnable!r}"[:200])
    return returnable


def _tier_progress(value: Any) -> bool:
    return (
        type(value) is list
        and len(value) >= 2
        and len(value) % 2 == 0
        and all(type(number) is int for number in value)
    )


def _checked(entries: dict[str, list[int]], lengths: frozenset[int]) -> dict[str, list[int]]:
    # Shape only (lists of the right length), in C: a check per entry in Python would cost as
    # much as the decode. A wrong value inside a list fails the arithmetic that reads it.
    values = entries.values()
    if not set(map(type, values)) <= _LISTS or not set(map(len, values)) <= lengths:
        raise StateDecodeError(f"malformed user state map: {entries!r}"[:200])
    return entries


def _raw_records(applied: dict[str, Any]) -> dict[str, RawRecord]:
    # Checked for shape only, in C; the content is read if a redelivery ever needs it, and
    # checked there (`applied_outcome`).
    records = applied.values() if type(applied) is dict else None
    if records is None or not set(map(type, records)) <= _LISTS or 0 in set(map(len, records)):
        raise StateDecodeError(f"malformed applied records: {applied!r}"[:200])
    return applied

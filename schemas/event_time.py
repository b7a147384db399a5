"""A programme's event-time policy: how far from the moment an event reaches us its `occurred_at`
may lie.

Caps and frequency limits count per day and month of `occurred_at`, so a producer free to date
events anywhere could spread them over days and months it has not capped yet. The policy bounds
that. One check serves both doors: the gateway against its clock when a partner gives a time,
the processors against the record's Kafka timestamp for records produced straight to `events.v1`.
It is pure: the reference instant is an argument. History older than the policy allows comes in
through the operators' import (`loyalty-admin import-events`), never through the partner API.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

FUTURE_MAX_S_DEFAULT: Final = 300
PAST_MAX_S_DEFAULT: Final = 7 * 86_400
FUTURE_MAX_S_LIMIT: Final = 86_400
PAST_MAX_S_LIMIT: Final = 366 * 86_400

Bound = Literal["future_max_s", "past_max_s"]


class EventTimePolicy(BaseModel):
    """How far after and before the moment of receipt an event may be dated, in seconds; both
    bounds inclusive."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    future_max_s: int = Field(
        default=FUTURE_MAX_S_DEFAULT,
        ge=0,
        le=FUTURE_MAX_S_LIMIT,
        description="How far after the moment of receipt an event may be dated: room for the "
        "partner's clock running ahead of ours (5 minutes by default, at most a day).",
    )
    past_max_s: int = Field(
        default=PAST_MAX_S_DEFAULT,
        ge=0,
        le=PAST_MAX_S_LIMIT,
        description="How far before the moment of receipt an event may be dated: room for a "
        "partner's queue that was held up (7 days by default, at most 366). Older history is "
        "loaded with `loyalty-admin import-events`.",
    )

    def out_of_bounds(
        self, occurred_at: datetime, reference: datetime, grace_s: int = 0
    ) -> "OutOfBounds | None":
        """None when `occurred_at` lies within the bounds around `reference` (each widened by
        `grace_s`), else the bound it breaks and the range accepted."""
        offset_s = (occurred_at - reference).total_seconds()
        bound: Bound
        if offset_s > self.future_max_s + grace_s:
            bound, limit_s = "future_max_s", self.future_max_s
        elif offset_s < -(self.past_max_s + grace_s):
            bound, limit_s = "past_max_s", self.past_max_s
        else:
            return None
        return OutOfBounds(
            bound=bound,
            limit_s=limit_s,
            occurred_at=occurred_at,
            earliest=reference - timedelta(seconds=self.past_max_s + grace_s),
            latest=reference + timedelta(seconds=self.future_max_s + grace_s),
        )


@dataclass(frozen=True, slots=True)
class OutOfBounds:
    """An `occurred_at` outside the policy: the bound it breaks (the policy's field) and the
    range of dates accepted against the same reference."""

    bound: Bound
    limit_s: int
    occurred_at: datetime
    earliest: datetime
    latest: datetime

    def message(self, reference: str) -> str:
        """`<occurred_at> is more than 7 days (604800 s) before <reference>, ...`; `reference`
        names the instant compared with ("now", "the record's timestamp ...")."""
        side = "after" if self.bound == "future_max_s" else "before"
        return (
            f"{instant(self.occurred_at)} is more than {duration(self.limit_s)} {side} "
            f"{reference} (the programme's event_time.{self.bound}); this programme accepts "
            f"events dated from {instant(self.earliest)} to {instant(self.latest)}"
        )


def instant(at: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, to the millisecond when there are fractions of a second."""
    spec = "seconds" if at.microsecond == 0 else "milliseconds"
    return at.astimezone(UTC).isoformat(timespec=spec).replace("+00:00", "Z")


def duration(seconds: int) -> str:
    """`7 days (604800 s)`, `5 minutes (300 s)`, `1 hour (3600 s)`, `90 s`."""
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'} ({seconds} s)"
    return f"{seconds} s"

"""What a decision asks for: awards to book and external amounts to fetch."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, NamedTuple

from pydantic import JsonValue

AwardKind = Literal["earn", "redeem"]


# `init=False` and a written `__init__`: compiled with mypyc, a dataclass's generated
# `__init__` would run interpreted, for every award.
@dataclass(slots=True, init=False)  # treated as immutable; frozen=True costs 4x per instance
class Award:
    """Points one rule gives (earn) or takes (redeem); `points` is always > 0."""

    rule_id: str
    rule_version: int
    kind: AwardKind
    points: int

    def __init__(self, rule_id: str, rule_version: int, kind: AwardKind, points: int) -> None:
        self.rule_id = rule_id
        self.rule_version = rule_version
        self.kind = kind
        self.points = points

    @property
    def signed_points(self) -> int:
        return self.points if self.kind == "earn" else -self.points


@dataclass(frozen=True, slots=True)
class ExternalCall:
    """A programmatic rule's amount to fetch. The processor sends `body` (plus the event) to `url`,
    reads `{"points": <int >= 0>}` and calls `decide` again with `external_points={rule_id: n}`."""

    rule_id: str
    rule_version: int
    event_id: str
    url: str
    method: str
    headers: Mapping[str, str]
    body: Mapping[str, JsonValue]


class ReturnAsk(NamedTuple):
    """What a return asks the ledger to take back (`schemas.ledger.ReturnRequest`)."""

    original_event_id: str
    award_keys: tuple[str, ...]
    field: str
    amount: str
    """The returned amount as a decimal's text (exact: never a binary float)."""

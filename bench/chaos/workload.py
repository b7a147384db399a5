"""The run's events, drawn from a seed: each user's events in time order over the last days
(inside the event-time policy, so a streak can complete), each going through the gateway or
straight to `events.v1` at random. A user's events are sent one after another (the clients wait
for each answer), so the order the checks replay them in is the order they were published in.

A delivery names one of the user's earlier purchases that no delivery named yet (drawn at random),
by its reference (or its event id, for one sent straight to `events.v1`), and so makes that
purchase's pending points available; a delivery with no such purchase names a reference nobody
used, and releases nothing."""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import JsonValue

from bench.chaos.programme import BONUS_POINTS, CONFIRMING_TYPE, PARTNER_ID, PROGRAMME_ID
from processors.engine.commands import ORIGINAL_REFERENCE
from schemas.events import EventV1, event_id_for

SPAN = timedelta(days=4)
SPAN_S = int(SPAN.total_seconds())
# Event types and their share of the events.
TYPES = ("read", "login", "buy", "bonus", CONFIRMING_TYPE)
WEIGHTS = (0.35, 0.25, 0.20, 0.12, 0.08)
BUDGET_SHARE = 0.5  # the bonus rule's budget pays about half the bonus events


@dataclass(frozen=True)
class Planned:
    number: int
    user_id: str
    event_type: str
    occurred_at: datetime
    metadata: dict[str, JsonValue]
    via_gateway: bool

    @property
    def reference_id(self) -> str | None:
        return f"chaos-{self.number}" if self.via_gateway else None

    @property
    def confirming_reference(self) -> str:
        """What a delivery names this purchase by: its reference, or its event id."""
        return self.reference_id or self.event_id

    @property
    def event_id(self) -> str:
        """The gateway's id for the partner's reference (`event_id_for`), or the producer's own."""
        if self.via_gateway:
            return event_id_for(PROGRAMME_ID, PARTNER_ID, self.reference_id)
        return f"evt_chaos_{self.number}"

    def event(self) -> EventV1:
        """The event as published (the gateway builds the same from the partner's request)."""
        gateway = self.via_gateway
        metadata = self.metadata
        if gateway:
            metadata = {"reference_id": self.reference_id, **metadata}
        return EventV1(
            event_id=self.event_id,
            programme_id=PROGRAMME_ID,
            user_id=self.user_id,
            event_type=self.event_type,
            occurred_at=self.occurred_at,
            partner_id=PARTNER_ID if gateway else None,
            reference_id=self.reference_id,
            metadata=metadata,
        )

    def request_body(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "event_type": self.event_type,
            "occurred_at": self.occurred_at.isoformat(),
            "metadata": {"reference_id": self.reference_id, **self.metadata},
        }


def plan(events: int, users: int, seed: int, now: datetime) -> dict[str, list[Planned]]:
    """Each user's events in the order they are sent."""
    rng = random.Random(seed)
    names = [f"usr_chaos_{n}" for n in range(users)]
    owners = [names[rng.randrange(users)] for _ in range(events)]
    start = now - SPAN
    by_user: dict[str, list[Planned]] = {name: [] for name in names}
    times: dict[str, list[datetime]] = {name: [] for name in names}
    for owner in owners:
        # Never within the last 10 minutes (the policy's future bound is 5 minutes after the
        # gateway's clock, and the run takes a while).
        times[owner].append(start + timedelta(seconds=rng.randrange(SPAN_S - 600)))
    number = 0
    for name in names:
        unnamed: list[Planned] = []  # the user's purchases no delivery has named yet
        for at in sorted(times[name]):
            event_type = rng.choices(TYPES, WEIGHTS)[0]
            metadata: dict[str, JsonValue] = {}
            if event_type == "buy":
                metadata["amount"] = rng.randrange(1, 200)
            elif event_type == CONFIRMING_TYPE:
                named = unnamed.pop(rng.randrange(len(unnamed))) if unnamed else None
                reference = f"chaos-none-{number}" if named is None else named.confirming_reference
                metadata[ORIGINAL_REFERENCE] = reference
            planned = Planned(
                number, name, event_type, at, metadata, via_gateway=rng.random() < 0.5
            )
            if event_type == "buy":
                unnamed.append(planned)
            by_user[name].append(planned)
            number += 1
    return {name: planned for name, planned in by_user.items() if planned}


def budget_max(planned: dict[str, list[Planned]]) -> int:
    bonuses = sum(p.event_type == "bonus" for events in planned.values() for p in events)
    return max(BONUS_POINTS, int(bonuses * BUDGET_SHARE) * BONUS_POINTS)

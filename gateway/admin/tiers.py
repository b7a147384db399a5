"""Setting a user's tier: one `tier.assigned` record on `events.v1`, as an internal service.

The processors (`processors/engine/decide.py`, `_assign_tier`) read `metadata.tier` of an
event of that type without a partner and make it the user's tier: the user's later events earn
with that tier's multiplier. The decision awards nothing and is stored like any other (status
`no_points`, reason "tier set to 'Silver'"); a tier the programme does not have is refused there
as `invalid_event`, and here before anything is published. The record is keyed like every
record about the user, so it is decided before any event of the user published after it.

With a reference the event id is deterministic (the programme, the user and the reference), so
publishing it again changes nothing: the processors recognise the event id, and the ledger the
command. A reference names one assignment: reusing it with another tier changes nothing either.
"""

from datetime import datetime

from aiokafka import AIOKafkaProducer

from schemas import topics
from schemas.events import EventV1, scoped_id
from schemas.programme import TIER_ASSIGNED_EVENT_TYPE, ProgrammeConfig


class UnknownTier(ValueError):
    """The programme has no tier of that name."""


def tier_event(
    config: ProgrammeConfig,
    user_id: str,
    tier: str,
    reference: str | None,
    occurred_at: datetime,
) -> EventV1:
    names = [t.name for t in config.tiers]
    if tier not in names:
        raise UnknownTier(
            f"programme {config.programme_id} has no tier '{tier}'; its tiers are {names}"
        )
    scope = (config.programme_id, TIER_ASSIGNED_EVENT_TYPE, user_id)
    return EventV1(
        event_id=scoped_id("evt_", scope, reference),
        programme_id=config.programme_id,
        user_id=user_id,
        event_type=TIER_ASSIGNED_EVENT_TYPE,
        occurred_at=occurred_at,
        reference_id=reference,
        environment=config.environment,
        metadata={"tier": tier},
    )


async def publish(bootstrap_servers: str, topic: str, event: EventV1) -> None:
    """Returns once the broker has the record on all in-sync replicas."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        await producer.send_and_wait(
            topic,
            event.model_dump_json().encode(),
            key=topics.user_key(event.programme_id, event.user_id),
        )
    finally:
        await producer.stop()

"""A local day's tier reviews: a `tier.review` record on events.v1 for each user of the programme
whose tier is due for review by that day (`ledger.user_tiers.review_on`, kept by the ledger
from the processors' decisions), dated the day's first instant (`occurred_at`; the processors
exempt these records from the event-time policy, since a day caught up on, or sent ahead with
`--allow-future`, lies outside it by design). The processors decide it in the user's state
(processors.engine.tier_decisions): a user not due after all, or a review sent twice, changes
nothing; its event id is deterministic (programme, user, day), so a repeat is also recognised
as a duplicate."""

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Final
from zoneinfo import ZoneInfo

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from schemas.events import EventV1, scoped_id
from schemas.ledger import day_start
from schemas.programme import TIER_REVIEW_EVENT_TYPE
from schemas.topics import user_key

SendReview = Callable[[bytes, bytes], Awaitable[None]]
"""Sends (key, value) to events.v1; returns once Kafka has acknowledged it."""

REVIEWS_PAGE: Final = 1_000
"""Users read per query: the day's reviews go out page by page, in user id order."""


def review_event(programme_id: str, user_id: str, day: date, zone: ZoneInfo) -> EventV1:
    scope = (programme_id, TIER_REVIEW_EVENT_TYPE, user_id)
    return EventV1(
        event_id=scoped_id("evt_", scope, day.isoformat()),
        programme_id=programme_id,
        user_id=user_id,
        event_type=TIER_REVIEW_EVENT_TYPE,
        occurred_at=day_start(day, zone),
    )


async def send_reviews(
    conn: asyncpg.Connection | PoolConnectionProxy,
    send: SendReview,
    programme_id: str,
    zone: ZoneInfo,
    day: date,
) -> int:
    """Sends the day's reviews; how many. A user due before `day` (a review that changed
    nothing because the processors knew better, or a day missed) is reviewed again."""
    after, sent = "", 0
    while True:
        users = await conn.fetch(
            """SELECT user_id FROM ledger.user_tiers
               WHERE programme_id = $1 AND review_on <= $2 AND user_id > $3
               ORDER BY user_id LIMIT $4""",
            programme_id,
            day,
            after,
            REVIEWS_PAGE,
        )
        for row in users:
            event = review_event(programme_id, row["user_id"], day, zone)
            key = user_key(programme_id, row["user_id"])
            await send(key, event.model_dump_json().encode())
        sent += len(users)
        if len(users) < REVIEWS_PAGE:
            return sent
        after = users[-1]["user_id"]

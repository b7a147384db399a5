"""A programme's Kwegg offers (what users redeem points for, gateway.kwegg.offers): listed,
created and ended, each change audited in its own transaction. Offers are not configuration:
the Kwegg API reads them from Postgres, so no snapshot changes. An offer is never deleted (a
redemption names it): ending it makes it INACTIVE, which the Kwegg API refuses to redeem."""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import asyncpg
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue

from gateway.admin.service import audit, programmes
from gateway.admin.service.actors import Actor
from gateway.admin.service.backend import Backend
from gateway.admin.service.errors import Invalid, NotFound
from gateway.admin.service.snapshots import validated
from gateway.kwegg import offers
from gateway.kwegg.offers import Offer

PAGE_SIZE = 50


class NewOffer(BaseModel):
    """An offer as a form or the admin API gives it (the limits are the table's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    offer_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")] | None = Field(
        default=None, description="Letters, digits, `_`, `.`, `-`; a new UUID when empty."
    )
    name: Annotated[str, Field(min_length=1, max_length=200)] = Field(description="What users see.")
    description: Annotated[str, Field(max_length=2000)] = ""
    points: Annotated[int, Field(ge=1, le=10**12)] = Field(description="What redeeming costs.")
    valid_until: AwareDatetime | None = Field(
        default=None, description="From then on the offer is EXPIRED; none: no end."
    )


def parse(data: Mapping[str, object], time_zone: str = "UTC") -> NewOffer:
    """From a form or a body; a `valid_until` without a UTC offset (a form's date and time) is
    in the programme's time zone."""
    values = {name: value for name, value in data.items() if value not in ("", None)}
    until = values.get("valid_until")
    if isinstance(until, str):
        values["valid_until"] = _zoned(until, time_zone)
    return validated(NewOffer, values)


def _zoned(text: str, time_zone: str) -> str:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text  # the model says what is wrong with it
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(time_zone))
    return moment.isoformat()


def audited(offer: Offer, now: datetime) -> JsonValue:
    return {
        "offer_id": offer.offer_id,
        "name": offer.name,
        "description": offer.description,
        "points": offer.points,
        "status": offer.status(now),
        "valid_until": None if offer.valid_until is None else offer.valid_until.isoformat(),
    }


async def page(
    pool: asyncpg.Pool, actor: Actor, programme_id: str, number: int = 1
) -> offers.OfferPage:
    """Oldest first, `PAGE_SIZE` a page, with the programme's count of offers."""
    await programmes.get(pool, actor, programme_id)
    return await offers.page_of(pool, programme_id, page=max(1, number), num_of_items=PAGE_SIZE)


async def create(backend: Backend, actor: Actor, programme_id: str, new: NewOffer) -> Offer:
    actor.require_editor(programme_id)
    await programmes.get(backend.pool, actor, programme_id)
    async with backend.pool.acquire() as connection, connection.transaction():
        try:
            offer_id = await offers.create(
                connection, programme_id, new.name, new.points, description=new.description,
                offer_id=new.offer_id, valid_until=new.valid_until,
            )  # fmt: skip
        except asyncpg.UniqueViolationError as exc:
            raise Invalid.field(
                "offer_id", f"programme {programme_id} has an offer '{new.offer_id}' already"
            ) from exc
        offer = await _found(connection, programme_id, offer_id)
        await audit.record(
            connection, actor, audit.Action.OFFER_CREATED, "offer", offer_id, programme_id,
            None, audited(offer, datetime.now(UTC)),
        )  # fmt: skip
    return offer


async def end(backend: Backend, actor: Actor, programme_id: str, offer_id: str) -> Offer:
    """INACTIVE from now on; ending an ended offer changes nothing."""
    actor.require_editor(programme_id)
    await programmes.get(backend.pool, actor, programme_id)
    now = datetime.now(UTC)
    async with backend.pool.acquire() as connection, connection.transaction():
        await connection.execute(
            "SELECT 1 FROM kwegg_offers WHERE programme_id = $1 AND offer_id = $2 FOR UPDATE",
            programme_id,
            offer_id,
        )
        before = await _found(connection, programme_id, offer_id)
        if not before.active:
            return before
        await offers.set_active(connection, programme_id, offer_id, False)
        after = await _found(connection, programme_id, offer_id)
        await audit.record(
            connection, actor, audit.Action.OFFER_ENDED, "offer", offer_id, programme_id,
            audited(before, now), audited(after, now),
        )  # fmt: skip
    return after


async def _found(connection: audit.Connection, programme_id: str, offer_id: str) -> Offer:
    offer = await offers.find(connection, programme_id, offer_id)
    if offer is None:
        raise NotFound(f"programme {programme_id} has no offer '{offer_id}'")
    return offer

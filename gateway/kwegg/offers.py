"""Offers a programme's users redeem points for, stored per programme in Postgres. The Kwegg
routes read them through the `Offers` port (`gateway.kwegg.ports`, `PostgresOffers` here); the
admin side calls the functions."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg

from ledger.reads import Executor

OfferStatus = Literal["ACTIVE", "INACTIVE", "EXPIRED"]
PAGE_SIZE_MAX = 100
_COLUMNS = "offer_id, name, description, points, status, valid_until, created_at"


@dataclass(frozen=True, slots=True)
class Offer:
    offer_id: str
    name: str
    description: str
    points: int
    active: bool
    valid_until: datetime | None
    created_at: datetime

    def status(self, now: datetime) -> OfferStatus:
        if not self.active:
            return "INACTIVE"
        if self.valid_until is not None and now >= self.valid_until:
            return "EXPIRED"
        return "ACTIVE"


@dataclass(frozen=True, slots=True)
class OfferPage:
    offers: list[Offer]
    total_count: int


def _offer(row: asyncpg.Record) -> Offer:
    return Offer(
        offer_id=row["offer_id"],
        name=row["name"],
        description=row["description"],
        points=int(row["points"]),
        active=row["status"] == "active",
        valid_until=row["valid_until"],
        created_at=row["created_at"],
    )


async def page_of(
    pool: asyncpg.Pool, programme_id: str, *, page: int, num_of_items: int
) -> OfferPage:
    """Oldest first, `page` from 1, with the programme's total count of offers."""
    if not 1 <= num_of_items <= PAGE_SIZE_MAX or page < 1:
        raise ValueError(f"page {page} of {num_of_items} is out of bounds")
    total = await pool.fetchval(
        "SELECT count(*) FROM kwegg_offers WHERE programme_id = $1", programme_id
    )
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM kwegg_offers WHERE programme_id = $1 "
        "ORDER BY created_at, offer_id LIMIT $2 OFFSET $3",
        programme_id,
        num_of_items,
        (page - 1) * num_of_items,
    )
    return OfferPage([_offer(row) for row in rows], int(total or 0))


async def find(db: Executor, programme_id: str, offer_id: str) -> Offer | None:
    row = await db.fetchrow(
        f"SELECT {_COLUMNS} FROM kwegg_offers WHERE programme_id = $1 AND offer_id = $2",
        programme_id,
        offer_id,
    )
    return None if row is None else _offer(row)


@dataclass(frozen=True, slots=True)
class PostgresOffers:
    pool: asyncpg.Pool

    async def page_of(self, programme_id: str, *, page: int, num_of_items: int) -> OfferPage:
        return await page_of(self.pool, programme_id, page=page, num_of_items=num_of_items)

    async def find(self, programme_id: str, offer_id: str) -> Offer | None:
        return await find(self.pool, programme_id, offer_id)


async def create(
    db: Executor,
    programme_id: str,
    name: str,
    points: int,
    *,
    description: str = "",
    offer_id: str | None = None,
    valid_until: datetime | None = None,
) -> str:
    """Stores an active offer and returns its id (a new UUID unless given). `db`: a pool, or a
    connection whose transaction also holds the change's audit entry (the console)."""
    offer_id = offer_id or str(uuid.uuid4())
    await db.execute(
        "INSERT INTO kwegg_offers (programme_id, offer_id, name, description, points, "
        "valid_until) VALUES ($1, $2, $3, $4, $5, $6)",
        programme_id,
        offer_id,
        name,
        description,
        points,
        valid_until,
    )
    return offer_id


async def set_active(db: Executor, programme_id: str, offer_id: str, active: bool) -> bool:
    status = await db.execute(
        "UPDATE kwegg_offers SET status = $3 WHERE programme_id = $1 AND offer_id = $2",
        programme_id,
        offer_id,
        "active" if active else "inactive",
    )
    return bool(status.endswith(" 1"))

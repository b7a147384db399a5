"""What sales claims are checked against, read from the programme's MyRewards configuration in
Postgres (loaded by `gateway.myrewards.configuration`): its active promotions, the data fields
of the programme's and of each promotion's claims, its active products.
`PostgresClaimsCatalogue` is the `ClaimsCatalogue` port of `gateway.myrewards.ports`."""

from collections.abc import Collection
from dataclasses import dataclass

import asyncpg

from gateway.myrewards.claims import Product

FIELDS_MAX = 1_000


@dataclass(frozen=True, slots=True)
class DataField:
    name: str
    selector: str
    mandatory: bool
    field_type: str
    answers: str | None


async def promotion_active(pool: asyncpg.Pool, programme_id: str, promotion_id: int) -> bool:
    found = await pool.fetchval(
        """SELECT 1 FROM myrewards_promotions
           WHERE programme_id = $1 AND promotion_id = $2 AND active""",
        programme_id,
        promotion_id,
    )
    return found is not None


async def field_rows(
    pool: asyncpg.Pool, programme_id: str, promotion_id: int | None
) -> list[asyncpg.Record]:
    """The data fields of the promotion's claims (None: the programme's own), in their form's
    order."""
    rows: list[asyncpg.Record] = await pool.fetch(
        """SELECT * FROM myrewards_data_fields
           WHERE programme_id = $1 AND promotion_id IS NOT DISTINCT FROM $2
           ORDER BY position, data_field_id LIMIT $3""",
        programme_id,
        promotion_id,
        FIELDS_MAX,
    )
    return rows


@dataclass(frozen=True, slots=True)
class PostgresClaimsCatalogue:
    pool: asyncpg.Pool

    async def promotion_active(self, programme_id: str, promotion_id: int) -> bool:
        return await promotion_active(self.pool, programme_id, promotion_id)

    async def data_fields(self, programme_id: str, promotion_id: int | None) -> list[DataField]:
        rows = await field_rows(self.pool, programme_id, promotion_id)
        return [
            DataField(
                row["name"], row["selector"], row["mandatory"], row["field_type"], row["answers"]
            )
            for row in rows
        ]

    async def products(self, programme_id: str, skus: Collection[str]) -> list[Product]:
        """The programme's active products of these SKUs (of any promotion, or none)."""
        rows = await self.pool.fetch(
            """SELECT product_id, promotion_id, sku, points_per_unit FROM myrewards_products
               WHERE programme_id = $1 AND sku = ANY($2::text[]) AND active""",
            programme_id,
            sorted(skus),
        )
        return [
            Product(row["product_id"], row["promotion_id"], row["sku"], row["points_per_unit"])
            for row in rows
        ]

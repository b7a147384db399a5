"""Claims requests and their claims in Postgres, scoped by programme.

A request is stored with its claims (status `pending`) before its ledger command is published,
so nothing accepted is lost if the gateway stops in between: a retry with the same
Idempotency-Key finds it and publishes the same command again. Its status follows the ledger's
outcome of the command: `booked` (the claims are listed), or `rejected` (the claims are deleted;
the request keeps its reason, so a retry is answered alike). The gateway settles a request when it
learns the outcome; a listing settles those still pending first, from the ledger's stored
outcomes (`ledger.reads`), so an outcome the gateway did not wait for is not missed.
`PostgresClaimStore` is the `ClaimStore` port of `gateway.myrewards.ports`; the settling and
answering logic is `gateway.myrewards.sales`'s."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import asyncpg
import orjson

from gateway.myrewards.claims import PricedClaim
from schemas.ledger import CommandOutcome, OutcomeStatus

ListedStatus = Literal["booked", "pending", "stored"]


@dataclass(frozen=True, slots=True)
class StoredRequest:
    command_id: str
    request_sha256: bytes
    promotion_id: int | None
    status: Literal["pending", "booked", "rejected"]
    reason_code: str | None
    claims_count: int
    points: int
    claims: list[PricedClaim]
    """The stored claims (none once the request is rejected)."""


@dataclass(frozen=True, slots=True)
class ListedClaim:
    id: int
    user_id: int
    product_or_activity: str
    product_id: int | None
    quantity: int
    points: int
    promotion_id: int | None
    date_of_sale: date
    custom_fields: dict[str, Any]
    status: ListedStatus
    reference: str | None
    created_at: datetime


async def find(pool: asyncpg.Pool, programme_id: str, command_id: str) -> StoredRequest | None:
    row = await pool.fetchrow(
        """SELECT request_sha256, promotion_id, status, reason_code, claims, points
           FROM myrewards_claim_requests WHERE programme_id = $1 AND command_id = $2""",
        programme_id,
        command_id,
    )
    if row is None:
        return None
    claims = await pool.fetch(
        """SELECT claim_index, user_id, product_id, product_or_activity, quantity, points,
                  date_of_sale
           FROM myrewards_claims WHERE programme_id = $1 AND command_id = $2
           ORDER BY claim_index""",
        programme_id,
        command_id,
    )
    return StoredRequest(
        command_id=command_id,
        request_sha256=bytes(row["request_sha256"]),
        promotion_id=row["promotion_id"],
        status=row["status"],
        reason_code=row["reason_code"],
        claims_count=row["claims"],
        points=row["points"],
        claims=[
            PricedClaim(
                index=claim["claim_index"],
                user_id=claim["user_id"],
                product_id=claim["product_id"],
                sku=claim["product_or_activity"],
                quantity=claim["quantity"],
                points=claim["points"],
                date_of_sale=claim["date_of_sale"],
            )
            for claim in claims
        ],
    )


async def store(
    pool: asyncpg.Pool,
    programme_id: str,
    command_id: str,
    request_sha256: bytes,
    promotion_id: int | None,
    claims: Sequence[tuple[PricedClaim, dict[str, Any]]],
) -> bool:
    """Store the request and its claims (each with its custom fields) in one transaction;
    False, storing nothing, when a request with this command id is stored already."""
    async with pool.acquire() as conn, conn.transaction():
        inserted = await conn.fetchval(
            """INSERT INTO myrewards_claim_requests
               (command_id, programme_id, request_sha256, promotion_id, claims, points)
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (command_id) DO NOTHING RETURNING 1""",
            command_id,
            programme_id,
            request_sha256,
            promotion_id,
            len(claims),
            sum(claim.points for claim, _ in claims),
        )
        if inserted is None:
            return False
        await conn.executemany(
            """INSERT INTO myrewards_claims (programme_id, promotion_id, user_id, date_of_sale,
               product_or_activity, quantity, custom_fields, command_id, claim_index, product_id,
               points, status)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'pending')""",
            [
                (
                    programme_id,
                    promotion_id,
                    claim.user_id,
                    claim.date_of_sale,
                    claim.sku,
                    claim.quantity,
                    orjson.dumps(custom).decode(),
                    command_id,
                    claim.index,
                    claim.product_id,
                    claim.points,
                )
                for claim, custom in claims
            ],
        )
    return True


def is_refusal(outcome: CommandOutcome) -> bool:
    """A refused command (a duplicate carries its original's status)."""
    return (outcome.original_status or outcome.status) is OutcomeStatus.REJECTED


async def settle(pool: asyncpg.Pool, command_id: str, outcome: CommandOutcome) -> None:
    """Record the ledger's outcome of a pending request's command (again: no change)."""
    async with pool.acquire() as conn, conn.transaction():
        if is_refusal(outcome):
            reason_code = str(outcome.reason_code or "invalid_transaction")
            await conn.execute(
                """UPDATE myrewards_claim_requests SET status = 'rejected', reason_code = $2
                   WHERE command_id = $1 AND status = 'pending'""",
                command_id,
                reason_code,
            )
            await conn.execute("DELETE FROM myrewards_claims WHERE command_id = $1", command_id)
            return
        await conn.execute(
            """UPDATE myrewards_claim_requests SET status = 'booked'
               WHERE command_id = $1 AND status = 'pending'""",
            command_id,
        )
        await conn.execute(
            """UPDATE myrewards_claims SET status = 'booked'
               WHERE command_id = $1 AND status = 'pending'""",
            command_id,
        )


async def pending(pool: asyncpg.Pool, programme_id: str, limit: int) -> list[str]:
    """Command ids of the programme's pending requests (at most `limit`), those asked about
    least recently first."""
    rows = await pool.fetch(
        """SELECT command_id FROM myrewards_claim_requests
           WHERE programme_id = $1 AND status = 'pending'
           ORDER BY checked_at NULLS FIRST, created_at LIMIT $2""",
        programme_id,
        limit,
    )
    return [row["command_id"] for row in rows]


async def mark_asked(pool: asyncpg.Pool, command_ids: Sequence[str]) -> None:
    """The ledger had no outcome for these pending requests: they are asked about last next
    time, so that a request whose command never reached the ledger does not hold up the rest."""
    await pool.execute(
        """UPDATE myrewards_claim_requests SET checked_at = now()
           WHERE command_id = ANY($1::text[]) AND status = 'pending'""",
        list(command_ids),
    )


async def claims_page(
    pool: asyncpg.Pool, programme_id: str, status: ListedStatus, page: int, num_of_items: int
) -> tuple[list[ListedClaim], int]:
    """The programme's claims of `status`, oldest first, and how many there are."""
    total: int = await pool.fetchval(
        "SELECT count(*) FROM myrewards_claims WHERE programme_id = $1 AND status = $2",
        programme_id,
        status,
    )
    rows = await pool.fetch(
        """SELECT claim_id, user_id, product_or_activity, product_id, quantity, points,
                  promotion_id, date_of_sale, custom_fields::text AS custom_fields, status,
                  command_id, created_at
           FROM myrewards_claims WHERE programme_id = $1 AND status = $2
           ORDER BY claim_id LIMIT $3 OFFSET $4""",
        programme_id,
        status,
        num_of_items,
        (page - 1) * num_of_items,
    )
    claims = [
        ListedClaim(
            id=row["claim_id"],
            user_id=row["user_id"],
            product_or_activity=row["product_or_activity"],
            product_id=row["product_id"],
            quantity=row["quantity"],
            points=row["points"],
            promotion_id=row["promotion_id"],
            date_of_sale=row["date_of_sale"],
            custom_fields=orjson.loads(row["custom_fields"]),
            status=row["status"],
            reference=row["command_id"],
            created_at=row["created_at"],
        )
        for row in rows
    ]
    return claims, int(total)


@dataclass(frozen=True, slots=True)
class PostgresClaimStore:
    pool: asyncpg.Pool

    async def find(self, programme_id: str, command_id: str) -> StoredRequest | None:
        return await find(self.pool, programme_id, command_id)

    async def store(
        self,
        programme_id: str,
        command_id: str,
        request_sha256: bytes,
        promotion_id: int | None,
        claims: Sequence[tuple[PricedClaim, dict[str, Any]]],
    ) -> bool:
        return await store(
            self.pool, programme_id, command_id, request_sha256, promotion_id, claims
        )

    async def settle(self, command_id: str, outcome: CommandOutcome) -> None:
        await settle(self.pool, command_id, outcome)

    async def pending(self, programme_id: str, limit: int) -> list[str]:
        return await pending(self.pool, programme_id, limit)

    async def mark_asked(self, command_ids: Sequence[str]) -> None:
        await mark_asked(self.pool, command_ids)

    async def page(
        self, programme_id: str, status: ListedStatus, page: int, num_of_items: int
    ) -> tuple[list[ListedClaim], int]:
        return await claims_page(self.pool, programme_id, status, page, num_of_items)

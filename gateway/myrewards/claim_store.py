"""Claims requests and their claims in Postgres, scoped by programme.

A request is stored with its claims (status `pending`) before its ledger command is published,
so nothing accepted is lost if the gateway stops in between: a retry with the same
Idempotency-Key finds it and publishes the same command again. Its status follows the ledger's
outcome of the command: `booked` (the claims are listed), or `rejected` (the claims are deleted;
the request keeps its reason, so a retry is answered alike). The gateway settles a request when it
learns the outcome; a listing settles those still pending first, from the ledger's stored
outcomes (`ledger.reads`), so an outcome the gateway did not wait for is not missed."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import asyncpg
import orjson

from gateway.myrewards.claims import PricedClaim
from ledger import reads
from schemas.ledger import CommandOutcome, OutcomeStatus

ListedStatus = Literal["booked", "pending", "stored"]
SETTLE_MAX = 100
"""Pending requests a listing asks the ledger about (those asked about least recently first)."""


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


async def settle_pending(pool: asyncpg.Pool, programme_id: str) -> None:
    """Settle the programme's pending requests whose outcome the ledger has stored (at most
    SETTLE_MAX of them, those asked about least recently first); the others are marked as
    asked, so that a request whose command never reached the ledger does not hold up the rest."""
    rows = await pool.fetch(
        """SELECT command_id FROM myrewards_claim_requests
           WHERE programme_id = $1 AND status = 'pending'
           ORDER BY checked_at NULLS FIRST, created_at LIMIT $2""",
        programme_id,
        SETTLE_MAX,
    )
    command_ids = [row["command_id"] for row in rows]
    if not command_ids:
        return
    outcomes = await reads.get_outcomes(pool, command_ids)
    for command_id, outcome in outcomes.items():
        await settle(pool, command_id, outcome)
    unsettled = [command_id for command_id in command_ids if command_id not in outcomes]
    if unsettled:
        await pool.execute(
            """UPDATE myrewards_claim_requests SET checked_at = now()
               WHERE command_id = ANY($1::text[]) AND status = 'pending'""",
            unsettled,
        )


async def page(
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

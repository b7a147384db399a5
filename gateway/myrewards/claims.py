"""Sales claims that earn points (seed 002, "Performance - Sales Data"): which product a claim
names, what it earns, and the one ledger command that books a whole request. Pure: no I/O.

Where the seed is silent:
- a claim's product is the one whose SKU is the claim's `product_or_activity`, compared exactly
  (SKUs are codes): the claim's promotion's own product first, else the programme's (a product
  without a promotion); a promotion's product is claimable only with that promotion;
- a claim earns the product's points per unit times its quantity; a 0-point product's claims are
  stored and listed, and book nothing;
- a request is one ledger command, all or nothing: one Programme Points credit from the
  programme's budget per claim that earns points, each for its claim's user (bookings name their
  users, so one command credits several); a funded budget too short for all of them refuses all
  of them (412). The command's own user (its Kafka key, the outcome's balance) is the first
  claim's;
- the command is built only from what is stored of each claim (user, SKU, quantity, points, date
  of sale), never from the clock or the current catalogue: a retry rebuilds the very same
  command from the stored claims, which the ledger recognises as a duplicate."""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from gateway.myrewards.errors import Invalid
from gateway.myrewards.models import Claim, SalesData
from gateway.myrewards.transactions import ledger_user_id
from schemas.events import scoped_id
from schemas.ledger import Booking, LedgerCommand, TransactionType, Variety

COMMAND_PREFIX = "myrewards-claims:"
API = "POST /api/v2/performance/data"


@dataclass(frozen=True, slots=True)
class Product:
    product_id: int
    promotion_id: int | None
    sku: str
    points_per_unit: int


@dataclass(frozen=True, slots=True)
class PricedClaim:
    """A checked claim, as stored and as booked."""

    index: int
    user_id: int
    product_id: int
    sku: str
    quantity: int
    points: int
    date_of_sale: date


def command_id_for(programme_id: str, idempotency_key: str | None) -> str:
    """Deterministic with an Idempotency-Key (scoped by the programme), random without."""
    return scoped_id(COMMAND_PREFIX, (programme_id,), idempotency_key, separator="\x00", length=40)


def product_for(
    products: Sequence[Product], promotion_id: int | None, claim: Claim, index: int
) -> Product:
    """The claim's product among the programme's active products of its SKU."""
    sku = claim.product_or_activity
    candidates = [product for product in products if product.sku == sku]
    for wanted in (promotion_id, None):
        for product in candidates:
            if product.promotion_id == wanted:
                return product
    if candidates:
        promotions = sorted({p.promotion_id for p in candidates if p.promotion_id is not None})
        listed = ", ".join(str(promotion) for promotion in promotions)
        raise Invalid(f"data[{index}]: product {sku!r} is claimable only with promotion {listed}")
    raise Invalid(f"data[{index}]: {sku!r} is not a product of this programme")


def priced(claim: Claim, index: int, user_id: int, product: Product) -> PricedClaim:
    return PricedClaim(
        index=index,
        user_id=user_id,
        product_id=product.product_id,
        sku=product.sku,
        quantity=claim.quantity,
        points=product.points_per_unit * claim.quantity,
        date_of_sale=claim.date_of_sale,
    )


def command_for(
    programme_id: str, command_id: str, claims: Sequence[PricedClaim], promotion_id: int | None
) -> LedgerCommand:
    """The request's command: a credit per claim that earns points, for the claim's user."""
    if not claims:
        raise ValueError("a claims request has at least one claim")
    bookings = [
        Booking(
            idempotency_key=f"{command_id}:{claim.index}",
            transaction_type=TransactionType.CREDIT,
            variety=Variety.PROGRAMME_POINTS,
            points=claim.points,
            reason=reason(claim),
            user_id=ledger_user_id(claim.user_id),
        )
        for claim in sorted(claims, key=lambda claim: claim.index)
        if claim.points > 0
    ]
    return LedgerCommand(
        command_id=command_id,
        programme_id=programme_id,
        user_id=ledger_user_id(min(claims, key=lambda claim: claim.index).user_id),
        bookings=bookings,
        explanation={
            "source": "myrewards",
            "api": API,
            "promotion_id": promotion_id,
            "claims": len(claims),
        },
    )


def reason(claim: PricedClaim) -> str:
    """What the user's points statement shows for the claim."""
    return f"Sales claim {claim.date_of_sale.isoformat()}: {claim.quantity} x {claim.sku}"[:250]


def request_sha256(promotion_id: int | None, body: SalesData) -> bytes:
    """Over the request as the client sent it (its promotion and every claim with its custom
    fields), so that the same Idempotency-Key with another request is a conflict, and a retry is
    recognised whatever has changed in the programme's catalogue since."""
    claims: list[dict[str, Any]] = [claim.model_dump(mode="json") for claim in body.data]
    # The standard library's encoder, not orjson: the digest is taken before the claims' custom
    # fields are checked, and they may hold any JSON number (orjson refuses integers past 64
    # bits).
    canonical = json.dumps([promotion_id, claims], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).digest()

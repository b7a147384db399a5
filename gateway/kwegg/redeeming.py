"""Redeeming an offer: a ledger command with one Debit of variety Redemption, published on
`ledger-commands.v1` by the gateway itself (an offer has a price, no rule decides it), keyed
`programme_id:user_id` like every record about the user. The ledger writer refuses it with
`insufficient_points` when the balance is short, and books nothing; its outcome comes back like
an event's (NOTIFY on commit), so the wait is the partner API's."""

from gateway.kwegg.offers import Offer
from schemas.events import scoped_id
from schemas.ledger import Booking, LedgerCommand, TransactionType, Variety

COMMAND_PREFIX = "kwr_"


def redemption_id(programme_id: str, user_id: str, reference_id: str | None) -> str:
    """Deterministic for the tenant's reference (a retry is the same redemption), random
    without one. The offer is not part of it: one reference names one redemption, and the same
    reference with another offer is refused by the ledger as an idempotency conflict."""
    return scoped_id(COMMAND_PREFIX, ("kwegg-redemption", programme_id, user_id), reference_id)


def redemption_command(
    programme_id: str,
    partner_id: str,
    user_id: str,
    offer: Offer,
    reference_id: str | None,
) -> LedgerCommand:
    """The same arguments give the same bytes (no clock in it): a retried or racing request
    with the same reference is a duplicate for the ledger, never an idempotency conflict. The
    entry's time is the ledger's `recorded_at`."""
    command_id = redemption_id(programme_id, user_id, reference_id)
    booking = Booking(
        idempotency_key=f"{command_id}:redemption",
        transaction_type=TransactionType.DEBIT,
        variety=Variety.REDEMPTION,
        points=offer.points,
        reason=f"offer {offer.offer_id} redeemed: {offer.name}"[:250],
        remote_transaction_id=reference_id,
    )
    explanation = {
        "kind": "offer_redemption",
        "offer_id": offer.offer_id,
        "offer_name": offer.name,
        "points": offer.points,
        "partner_id": partner_id,
        "reference_id": reference_id,
    }
    return LedgerCommand(
        command_id=command_id,
        programme_id=programme_id,
        user_id=user_id,
        bookings=[booking],
        explanation=explanation,
    )


# What the tenant is told when the command could not be stored (answering.book_command).
RETRY = "the redemption could not be stored; retry with the same referenceId"

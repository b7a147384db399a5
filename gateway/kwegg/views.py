"""Pure translations from the engine's and the ledger's records to Kwegg's bodies."""

from datetime import datetime
from typing import Literal

from gateway.kwegg.models import (
    KweggTier,
    KweggTransaction,
    OccurrenceData,
    OfferOut,
    RedemptionData,
)
from gateway.kwegg.offers import Offer
from gateway.publishing.answers import EventAnswer
from gateway.tier_standing import TierStanding
from ledger.reads import Transaction
from schemas.ledger import CommandOutcome, Variety

# Kwegg's type for an earned transaction, spelt as in its documentation.
TYPES = {Variety.PROGRAMME_POINTS.value: "EVENT_OCCURENCE", Variety.REDEMPTION.value: "REDEMPTION"}


def transaction_type(variety: str) -> str:
    return TYPES.get(variety) or variety.upper().replace(" ", "_")


def transaction(found: Transaction) -> KweggTransaction:
    award = found.pending
    return KweggTransaction(
        id=str(found.id),
        entry="CREDIT" if found.value > 0 else "DEBIT",
        createdAt=found.created_at,
        type=transaction_type(found.variety),
        points=abs(found.value),
        balance=found.balance,
        description=found.description,
        status=None if award is None else _STATUSES[award.status],
        availableOn=None if award is None else award.available_on,
    )


_STATUSES: dict[str, Literal["PENDING", "AVAILABLE", "CANCELLED"]] = {
    "pending": "PENDING",
    "available": "AVAILABLE",
    "cancelled": "CANCELLED",
}


def offer(found: Offer, now: datetime) -> OfferOut:
    return OfferOut(
        id=found.offer_id,
        createdAt=found.created_at,
        name=found.name,
        description=found.description,
        points=found.points,
        status=found.status(now),
        validUntil=found.valid_until,
    )


def occurrence(answer: EventAnswer) -> OccurrenceData:
    return OccurrenceData(
        eventId=answer.event_id,
        status=answer.status,
        points=answer.points_awarded,
        reasonCode=answer.reason_code,
        reason=answer.reason,
    )


def redemption(
    command_id: str, offer_id: str, points: int, outcome: CommandOutcome | None
) -> RedemptionData:
    if outcome is None:
        return RedemptionData(
            redemptionId=command_id, offerId=offer_id, status="pending", points=points
        )
    return RedemptionData(
        redemptionId=command_id,
        offerId=offer_id,
        status="processed",
        points=-outcome.points,
        balance=outcome.balance_after,
    )


def tier(found: TierStanding) -> KweggTier:
    return KweggTier(
        name=found.tier,
        reviewOn=found.review_on,
        pointsEarned=found.points_earned,
        nextTier=found.next_tier,
        pointsToNextTier=found.points_to_next_tier,
    )

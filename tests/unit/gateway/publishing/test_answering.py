"""The publish-and-answer path every vendor API shares, with in-memory fakes of Kafka, the ledger's
stored outcomes and the outcome notifications: what is answered, what is published, and when
nothing is published at all."""

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from gateway.errors import Forbidden, IdempotencyConflict, RateLimited, Unauthorized
from gateway.keys import Principal
from gateway.publishing.answering import publish_and_answer
from gateway.publishing.partner_events import programme_partner, publish_partner_event
from schemas.events import EventV1, event_id_for, payload_fingerprint
from schemas.ledger import CommandOutcome, LedgerCommand, OutcomeStatus, RejectionReason
from schemas.programme import ProgrammeConfig
from tests.unit.gateway.publishing.fakes import published, services

AT = datetime(2026, 12, 4, 12, tzinfo=UTC)
PROGRAMME = ProgrammeConfig.model_validate(
    {
        "programme_id": "shop",
        "version": 1,
        "partners": [
            {"partner_id": "p", "allowed_event_types": ["purchase"], "rate_limit_per_minute": 2}
        ],
        "event_types": [{"name": "purchase"}],
        "rules": [
            {"rule_id": "r", "version": 1, "event_type": "purchase", "status": "active",
             "default": True, "points": 5},
        ],
    }
)  # fmt: skip
CALLER = Principal("shop", "p", "production")


def event(reference: str | None = None, **metadata: object) -> EventV1:
    return EventV1(
        event_id=event_id_for("shop", "p", reference),
        programme_id="shop",
        partner_id="p",
        user_id="u",
        event_type="purchase",
        occurred_at=AT,
        reference_id=reference,
        metadata={"reference_id": reference, **metadata} if reference else dict(metadata),
    )


def booked(
    points: int, explanation: dict[str, object] | None = None, fingerprint: str | None = None
) -> Callable[[str, EventV1 | LedgerCommand], CommandOutcome]:
    def ledger(command_id: str, record: EventV1 | LedgerCommand) -> CommandOutcome:
        stamp = fingerprint or getattr(record, "payload_fingerprint", None)
        return CommandOutcome(
            command_id=command_id,
            status=OutcomeStatus.BOOKED,
            points=points,
            explanation=explanation,
            source_fingerprint=stamp,
        )

    return ledger


async def test_a_new_event_is_published_once_and_answered_with_its_points() -> None:
    world = services(booked(5))
    answer = await publish_and_answer(world, event())
    assert (answer.status, answer.points_awarded, answer.reason_code) == ("processed", 5, None)
    assert len(published(world)) == 1


async def test_past_the_deadline_the_answer_is_pending() -> None:
    world = services(lambda _id, _record: None, wait_ms=20)
    answer = await publish_and_answer(world, event())
    assert (answer.status, answer.points_awarded) == ("pending", None)


async def test_a_retry_is_answered_from_the_stored_outcome_without_publishing_again() -> None:
    world = services(booked(5))
    first = await publish_and_answer(world, event("order-1", amount=10))
    again = await publish_and_answer(world, event("order-1", amount=10))
    assert again == first
    assert len(published(world)) == 1
    sent = published(world)[0]
    assert isinstance(sent, EventV1)
    assert sent.payload_fingerprint == payload_fingerprint(sent, occurred_at_given=False)


async def test_a_reference_reused_with_another_payload_is_refused_and_not_published() -> None:
    world = services(booked(5))
    first = await publish_and_answer(world, event("order-1", amount=10))
    with pytest.raises(IdempotencyConflict) as refused:
        await publish_and_answer(world, event("order-1", amount=99))
    assert refused.value.details == {"event_id": first.event_id}
    assert len(published(world)) == 1


async def test_a_cut_or_refused_outcome_says_why() -> None:
    explained: dict[str, object] = {
        "reason_code": "daily_cap",
        "reason": "rule 'r': daily cap 10: cut from 5 to 2",
    }
    cut = await publish_and_answer(services(booked(2, explained)), event())
    assert (cut.points_awarded, cut.reason_code, cut.reason) == (
        2,
        "daily_cap",
        "rule 'r': daily cap 10: cut from 5 to 2",
    )

    def refuse(command_id: str, _record: EventV1 | LedgerCommand) -> CommandOutcome:
        return CommandOutcome(
            command_id=command_id,
            status=OutcomeStatus.REJECTED,
            points=0,
            reason="User does not have enough points",
            reason_code=RejectionReason.INSUFFICIENT_POINTS,
        )

    refused = await publish_and_answer(services(refuse), event())
    assert (refused.status, refused.points_awarded, refused.reason_code) == (
        "rejected",
        0,
        "insufficient_points",
    )


async def test_a_partner_publishes_only_what_its_programme_allows_within_its_rate() -> None:
    world = services(booked(5), PROGRAMME)
    partner = programme_partner(world, CALLER, not_a_partner="no such partner")
    answers = [
        await publish_partner_event(world, CALLER, partner, "purchase", lambda: event())
        for _ in range(2)
    ]
    assert [status for _, status in answers] == [200, 200]
    with pytest.raises(RateLimited):
        await publish_partner_event(world, CALLER, partner, "purchase", lambda: event())
    with pytest.raises(Forbidden):
        await publish_partner_event(world, CALLER, partner, "refund", lambda: event())
    assert len(published(world)) == 2
    staging = Principal("shop", "p", "staging")
    with pytest.raises(Unauthorized):
        programme_partner(world, staging, not_a_partner="no such partner")
    with pytest.raises(Forbidden):
        programme_partner(world, Principal("shop", "q", "production"), not_a_partner="no")

"""The Kwegg occurrence route's logic (seed 003) apart from HTTP and Postgres: a caller (the
tenant's key and the user's session, as the dependencies resolve them) registers an occurrence,
published and answered through the shared path's in-memory ports
(tests/unit/gateway/publishing/fakes.py). Tokens, keys and the real routes:
tests/e2e/test_kwegg.py."""

from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.responses import Response

from gateway.dependencies import Services
from gateway.errors import Forbidden, IdempotencyConflict
from gateway.keys import Principal
from gateway.kwegg.access import Tenant, UserCall
from gateway.kwegg.models import OccurrenceRequest
from gateway.kwegg.routes import event_occurrence
from gateway.kwegg.tokens import Session
from schemas.events import EventV1
from schemas.ledger import CommandOutcome, LedgerCommand, OutcomeStatus
from schemas.programme import ProgrammeConfig
from tests.unit.gateway.publishing.fakes import published, services

PROGRAMME = ProgrammeConfig.model_validate(
    {
        "programme_id": "shop",
        "version": 1,
        "partners": [{"partner_id": "tenant", "allowed_event_types": ["viewed"]}],
        "event_types": [{"name": "viewed"}, {"name": "secret"}],
        "rules": [{"rule_id": "r", "version": 1, "event_type": "viewed", "status": "active",
                   "default": True, "points": 5}],
    }
)  # fmt: skip
PRINCIPAL = Principal("shop", "tenant", "production")
EXPLAINED = {"reason_code": "frequency", "reason": "rule 'r': once a day: already awarded"}


class OncePerUser:
    """The ledger's side, in memory: a user's first occurrence earns 5, later ones 0 (the rule's
    frequency limit), each answered with its reason."""

    def __init__(self) -> None:
        self.earned: set[str] = set()

    def __call__(self, command_id: str, record: EventV1 | LedgerCommand) -> CommandOutcome:
        assert isinstance(record, EventV1)
        first = record.user_id not in self.earned
        self.earned.add(record.user_id)
        return CommandOutcome(
            command_id=command_id, status=OutcomeStatus.BOOKED, points=5 if first else 0,
            explanation=None if first else dict(EXPLAINED),
            source_fingerprint=record.payload_fingerprint,
        )  # fmt: skip


def call_for(world: Services, user_id: str) -> UserCall:
    (partner,) = PROGRAMME.partners
    session = Session("shop", "tenant", user_id, datetime(2030, 1, 1, tzinfo=UTC))
    return UserCall(Tenant(world, PRINCIPAL, partner, "WEB"), session)


def occurrence(
    user_id: str, name: str = "viewed", id_: str | None = None, **params: Any
) -> OccurrenceRequest:
    event = {"name": name, "id": id_, "params": params}
    return OccurrenceRequest.model_validate({"userId": user_id, "event": event})


async def test_an_occurrence_is_the_users_event_and_its_answer_carries_the_points() -> None:
    world = services(OncePerUser(), PROGRAMME)
    response = Response()
    answer = await event_occurrence(
        occurrence("u1", id_="o-1", item="1234"), call_for(world, "u1"), response
    )
    assert (response.status_code, answer.data.status, answer.data.points) == (200, "processed", 5)
    (event,) = published(world)
    assert isinstance(event, EventV1)
    assert (event.user_id, event.partner_id, event.event_type) == ("u1", "tenant", "viewed")
    assert (event.reference_id, event.metadata) == ("o-1", {"item": "1234"})
    assert answer.data.eventId == event.event_id


async def test_an_answer_of_no_points_says_why() -> None:
    world = services(OncePerUser(), PROGRAMME)
    await event_occurrence(occurrence("u1", id_="o-1"), call_for(world, "u1"), Response())
    second = await event_occurrence(occurrence("u1", id_="o-2"), call_for(world, "u1"), Response())
    assert (second.data.points, second.data.reasonCode, second.data.reason) == (
        0, "frequency", EXPLAINED["reason"],
    )  # fmt: skip


async def test_an_occurrence_id_is_the_users_a_retry_answers_once_and_a_reuse_is_refused() -> None:
    world = services(OncePerUser(), PROGRAMME)
    first = await event_occurrence(
        occurrence("u1", id_="o-1", n=1), call_for(world, "u1"), Response()
    )
    again = await event_occurrence(
        occurrence("u1", id_="o-1", n=1), call_for(world, "u1"), Response()
    )
    assert again == first
    other_user = await event_occurrence(
        occurrence("u2", id_="o-1", n=1), call_for(world, "u2"), Response()
    )
    assert other_user.data.eventId != first.data.eventId  # the same id from two users: two events
    with pytest.raises(IdempotencyConflict) as refused:
        await event_occurrence(occurrence("u1", id_="o-1", n=2), call_for(world, "u1"), Response())
    assert refused.value.details == {"event_id": first.data.eventId}
    assert len(published(world)) == 2


async def test_past_the_wait_the_answer_is_pending_with_202() -> None:
    world = services(lambda _id, _record: None, PROGRAMME, wait_ms=20)
    response = Response()
    answer = await event_occurrence(occurrence("u1"), call_for(world, "u1"), response)
    assert (response.status_code, answer.data.status, answer.data.points) == (202, "pending", None)


async def test_another_users_occurrence_or_an_event_the_tenant_may_not_send_is_refused() -> None:
    world = services(OncePerUser(), PROGRAMME)
    with pytest.raises(Forbidden):
        await event_occurrence(occurrence("u2"), call_for(world, "u1"), Response())
    with pytest.raises(Forbidden):
        await event_occurrence(occurrence("u1", name="secret"), call_for(world, "u1"), Response())
    assert published(world) == []

"""The mgPass partner events slice apart from HTTP: when the user acted (the event-time policy
against the gateway's clock), the event a request stands for, and its publishing through the
shared path's in-memory ports (tests/unit/gateway/publishing/fakes.py). The real route and
services: tests/e2e/test_partner_api.py, tests/e2e/test_partner_contract.py."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.exceptions import RequestValidationError

from gateway.keys import Principal
from gateway.partner.events import occurred_at_of, to_event
from gateway.partner.models import PartnerEventRequest
from gateway.publishing.partner_events import programme_partner, publish_partner_event
from schemas.events import EventV1, event_id_for
from schemas.ledger import CommandOutcome, LedgerCommand, OutcomeStatus
from schemas.programme import ProgrammeConfig
from tests.unit.gateway.publishing.fakes import published, services

PROGRAMME = ProgrammeConfig.model_validate(
    {
        "programme_id": "shop",
        "version": 1,
        "partners": [{"partner_id": "p", "allowed_event_types": ["purchase"]}],
        "event_types": [{"name": "purchase"}],
        "rules": [{"rule_id": "r", "version": 1, "event_type": "purchase", "status": "active",
                   "default": True, "points": 5}],
        "event_time": {"future_max_s": 60, "past_max_s": 3_600},
    }
)  # fmt: skip
CALLER = Principal("shop", "p", "production")


def books(command_id: str, record: EventV1 | LedgerCommand) -> CommandOutcome:
    fingerprint = getattr(record, "payload_fingerprint", None)
    return CommandOutcome(
        command_id=command_id, status=OutcomeStatus.BOOKED, points=5,
        source_fingerprint=fingerprint,
    )  # fmt: skip


def test_without_occurred_at_the_event_happened_now() -> None:
    before = datetime.now(UTC)
    assert before <= occurred_at_of(services(books, PROGRAMME), CALLER, None) <= datetime.now(UTC)


def test_an_occurred_at_within_the_programmes_bounds_is_kept() -> None:
    world = services(books, PROGRAMME)
    for offset in (timedelta(seconds=50), timedelta(minutes=-59)):
        at = datetime.now(UTC) + offset
        assert occurred_at_of(world, CALLER, at) == at


@pytest.mark.parametrize(
    ("offset", "bound"),
    [
        (timedelta(seconds=90), "event_time.future_max_s"),
        (timedelta(hours=-2), "event_time.past_max_s"),
    ],
)
def test_an_occurred_at_past_a_bound_is_refused_naming_it(offset: timedelta, bound: str) -> None:
    with pytest.raises(RequestValidationError) as refused:
        occurred_at_of(services(books, PROGRAMME), CALLER, datetime.now(UTC) + offset)
    (problem,) = refused.value.errors()
    assert problem["loc"] == ("body", "occurred_at")
    assert bound in problem["msg"]


async def test_a_request_is_published_as_the_partners_event_keyed_by_its_reference() -> None:
    world = services(books, PROGRAMME)
    body = PartnerEventRequest.model_validate(
        {
            "user_id": "u1",
            "event_type": "purchase",
            "metadata": {"reference_id": "o-1", "amount": 3},
        }
    )
    at = datetime.now(UTC)
    partner = programme_partner(world, CALLER, not_a_partner="not a partner")
    answer, status = await publish_partner_event(
        world, CALLER, partner, body.event_type, lambda: to_event(body, CALLER, at)
    )
    assert (status, answer.points_awarded) == (200, 5)
    (event,) = published(world)
    assert isinstance(event, EventV1)
    assert event.event_id == event_id_for("shop", "p", "o-1") == answer.event_id
    assert (event.user_id, event.occurred_at, event.reference_id) == ("u1", at, "o-1")
    assert event.metadata == {"reference_id": "o-1", "amount": 3}

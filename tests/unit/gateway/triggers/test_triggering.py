"""The API-triggered rules slice (seed 001) apart from HTTP, as cosmicpython tests a service: the
client's secret checked through an in-memory `ClientSecrets`, the rule checked for the client at
a given instant, and the event published and answered through the shared path's in-memory ports
(tests/unit/gateway/publishing/fakes.py). The real store and routes: tests/e2e/test_partner_*."""

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from gateway.errors import (
    Conflict,
    Forbidden,
    IdempotencyConflict,
    NotFound,
    Rejected,
    Unauthorized,
)
from gateway.triggers.clients import Client, StoredClient, check_secret, secret_digest
from gateway.triggers.routes import TriggerRequest, trigger
from schemas.events import EventV1
from schemas.ledger import CommandOutcome, LedgerCommand, OutcomeStatus, RejectionReason
from schemas.programme import ProgrammeConfig
from tests.unit.gateway.publishing.fakes import published, services

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
PROGRAMME = ProgrammeConfig.model_validate(
    {
        "programme_id": "shop",
        "version": 1,
        "api_clients": [{"client_id": "app"}, {"client_id": "other"}],
        "event_types": [{"name": "bonus"}, {"name": "redeem"}],
        "rules": [
            {"rule_id": "bonus-25", "version": 1, "event_type": "bonus", "status": "active",
             "trigger": "api", "points": 25, "authorised_clients": ["app"]},
            {"rule_id": "ended", "version": 1, "event_type": "bonus", "status": "active",
             "trigger": "api", "points": 25, "authorised_clients": ["app"], "priority": 1,
             "valid_until": "2026-01-01T00:00:00Z"},
            {"rule_id": "draft", "version": 1, "event_type": "bonus", "status": "draft",
             "trigger": "api", "points": 25, "authorised_clients": ["app"], "priority": 2},
            {"rule_id": "by-event", "version": 1, "event_type": "bonus", "status": "active",
             "points": 1, "priority": 3},
            {"rule_id": "redeem-10", "version": 1, "event_type": "redeem", "kind": "redeem",
             "status": "active", "trigger": "api", "points": 10, "authorised_clients": ["app"]},
        ],
    }
)  # fmt: skip
APP = Client("app", "shop", "production")
Ledger = Callable[[str, EventV1 | LedgerCommand], CommandOutcome]


class FakeClientSecrets:
    def __init__(self, **secrets: str) -> None:
        self.clients = {
            client_id: StoredClient(Client(client_id, "shop", "production"), secret_digest(secret))
            for client_id, secret in secrets.items()
        }

    async def stored(self, client_id: str) -> StoredClient | None:
        return self.clients.get(client_id)


def books(points: int) -> Ledger:
    def ledger(command_id: str, record: EventV1 | LedgerCommand) -> CommandOutcome:
        fingerprint = getattr(record, "payload_fingerprint", None)
        return CommandOutcome(
            command_id=command_id, status=OutcomeStatus.BOOKED, points=points,
            source_fingerprint=fingerprint,
        )  # fmt: skip

    return ledger


def request(reference: str | None = None, **metadata: str) -> TriggerRequest:
    return TriggerRequest(user_id="u1", reference_id=reference, metadata=dict(metadata))


async def test_a_client_is_known_by_its_id_and_secret_only() -> None:
    clients = FakeClientSecrets(app="s3cret")
    assert await check_secret(clients, "app", "s3cret") == APP
    for client_id, secret in (("app", "wrong"), ("nobody", "s3cret"), ("app", None), (None, "x")):
        with pytest.raises(Unauthorized):
            await check_secret(clients, client_id, secret)


async def test_a_triggered_rule_publishes_its_event_for_the_client_and_answers_its_points() -> None:
    world = services(books(25), PROGRAMME)
    answer = await trigger(world, APP, "bonus-25", request("t-1", campaign="a"), NOW)
    assert (answer.status, answer.points_awarded) == ("processed", 25)
    (event,) = published(world)
    assert isinstance(event, EventV1)
    assert (event.programme_id, event.user_id, event.event_type, event.rule_id) == (
        "shop", "u1", "bonus", "bonus-25",
    )  # fmt: skip
    assert (event.client_id, event.reference_id, event.occurred_at) == ("app", "t-1", NOW)
    assert answer.event_id == event.event_id


async def test_a_reference_retried_is_answered_once_and_reused_otherwise_is_refused() -> None:
    world = services(books(25), PROGRAMME)
    first = await trigger(world, APP, "bonus-25", request("t-1", campaign="a"), NOW)
    again = await trigger(world, APP, "bonus-25", request("t-1", campaign="a"), NOW)
    assert again == first
    with pytest.raises(IdempotencyConflict) as refused:
        await trigger(world, APP, "bonus-25", request("t-1", campaign="b"), NOW)
    assert refused.value.details == {"event_id": first.event_id}
    assert len(published(world)) == 1


@pytest.mark.parametrize(
    ("client", "rule_id", "refusal"),
    [
        (APP, "no-such-rule", NotFound),
        (APP, "by-event", NotFound),  # a rule events earn, not one a client may trigger
        (Client("other", "shop", "production"), "bonus-25", Forbidden),
        (APP, "draft", Conflict),
        (APP, "ended", Conflict),
    ],
)
async def test_a_rule_the_client_may_not_trigger_now_is_refused_and_nothing_published(
    client: Client, rule_id: str, refusal: type[Exception]
) -> None:
    world = services(books(25), PROGRAMME)
    with pytest.raises(refusal):
        await trigger(world, client, rule_id, request(), NOW)
    assert published(world) == []


async def test_a_redemption_the_ledger_refuses_is_raised_with_its_reason() -> None:
    def refuses(command_id: str, record: EventV1 | LedgerCommand) -> CommandOutcome:
        return CommandOutcome(
            command_id=command_id, status=OutcomeStatus.REJECTED, points=0,
            reason="User does not have enough points",
            reason_code=RejectionReason.INSUFFICIENT_POINTS,
        )  # fmt: skip

    with pytest.raises(Rejected) as refused:
        await trigger(services(refuses, PROGRAMME), APP, "redeem-10", request(), NOW)
    assert (refused.value.status, refused.value.code) == (402, "insufficient_points")

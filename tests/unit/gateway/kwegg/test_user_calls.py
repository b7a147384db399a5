"""The Kwegg API's calls apart from HTTP and Postgres (`gateway.kwegg.user_calls`,
`gateway.kwegg.sessions`), as cosmicpython tests a service: the tokens, offers and ledger reads in
memory (tests/unit/gateway/kwegg/fakes.py), a redemption booked and answered through the shared
path's in-memory ports (tests/unit/gateway/publishing/fakes.py). The real routes and stores:
tests/e2e/test_kwegg.py."""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from gateway.dependencies import Services
from gateway.errors import ApiError
from gateway.keys import Principal, digest
from gateway.kwegg import sessions, user_calls
from gateway.kwegg.access import Tenant, UserCall
from gateway.kwegg.models import RedeemRequest
from gateway.kwegg.offers import Offer
from gateway.kwegg.ports import KweggStores
from gateway.kwegg.tokens import Session
from ledger.reads import Expiring, TierAssignment
from schemas.events import EventV1
from schemas.ledger import CommandOutcome, LedgerCommand, OutcomeStatus, RejectionReason
from schemas.programme import ProgrammeConfig
from tests.unit.gateway.kwegg.fakes import ledger_of, stores, tokens_of
from tests.unit.gateway.ledger_fakes import FakeUserLedger
from tests.unit.gateway.publishing.fakes import published, services

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
PROGRAMME = ProgrammeConfig.model_validate(
    {
        "programme_id": "shop",
        "version": 1,
        "partners": [{"partner_id": "tenant", "allowed_event_types": ["viewed"]}],
        "event_types": [{"name": "viewed"}],
        "tiers": [{"name": "blue", "threshold_points": 0},
                  {"name": "gold", "threshold_points": 100}],
        "default_tier": "blue",
        "tier_policy": {"basis": "rolling_months", "window_months": 12, "period_months": 12,
                        "downgrade": "period_end"},
    }
)  # fmt: skip
PRINCIPAL = Principal("shop", "tenant", "production")
COFFEE = Offer("coffee", "Coffee", "One cup", 30, True, None, NOW - timedelta(days=3))
OLD = Offer("old", "Old", "", 1, False, None, NOW - timedelta(days=2))
ENDED = Offer("ended", "Ended", "", 1, True, NOW - timedelta(hours=1), NOW - timedelta(days=1))
THEIRS = Offer("theirs", "Another programme's", "", 1, True, None, NOW)
Ledger = Callable[[str, EventV1 | LedgerCommand], CommandOutcome | None]


def tenant_of(world: Services) -> Tenant:
    (partner,) = PROGRAMME.partners
    return Tenant(world, PRINCIPAL, partner, "WEB")


def call_of(world: Services, user_id: str = "u1") -> UserCall:
    session = Session("shop", "tenant", user_id, NOW + timedelta(days=1))
    return UserCall(tenant_of(world), session)


def kwegg_stores() -> KweggStores:
    found = stores(("shop", COFFEE), ("shop", OLD), ("shop", ENDED), ("other", THEIRS))
    ledger_of(found).book("shop", "u1", 50, NOW - timedelta(days=1))
    return found


def debits(ledger: FakeUserLedger) -> Ledger:
    """The ledger writer, in memory: books a redemption's debit, answers with its offer."""

    def book(command_id: str, record: EventV1 | LedgerCommand) -> CommandOutcome:
        assert isinstance(record, LedgerCommand)
        (booking,) = record.bookings
        after = ledger.book(record.programme_id, record.user_id, -booking.points, NOW).balance
        return CommandOutcome(
            command_id=command_id, status=OutcomeStatus.BOOKED, points=-booking.points,
            balance_after=after, explanation=record.explanation,
        )  # fmt: skip

    return book


def refused(raised: pytest.ExceptionInfo[ApiError]) -> tuple[int, str]:
    return raised.value.status, raised.value.code


async def test_a_login_issues_a_token_for_the_user_with_their_balance_and_tier() -> None:
    world, found = services(lambda *_: None, PROGRAMME), kwegg_stores()
    answer = await user_calls.login(found, tenant_of(world), "u1", NOW)
    data = answer.data
    assert (data.user.userId, data.user.balance, data.user.tier) == ("u1", 50, "blue")
    assert data.expiresAt == NOW + timedelta(seconds=world.settings.kwegg_token_ttl_s)
    stored = tokens_of(found).tokens[digest(data.accessToken)]
    assert (stored.session.user_id, stored.session.partner_id, stored.platform) == (
        "u1", "tenant", "WEB",
    )  # fmt: skip
    session = await sessions.session_of(found.tokens, "shop", f"Bearer {data.accessToken}", NOW)
    assert session == stored.session


async def test_a_login_before_the_configuration_is_read_leaves_the_tier_out() -> None:
    answer = await user_calls.login(kwegg_stores(), tenant_of(services(lambda *_: None)), "u2", NOW)
    assert (answer.data.user.balance, answer.data.user.tier) == (0, None)


async def test_logins_keep_the_users_newest_tokens_up_to_the_limit() -> None:
    world, found = services(lambda *_: None, PROGRAMME), kwegg_stores()
    limit = world.settings.kwegg_tokens_per_user_max
    issued = [
        (
            await user_calls.login(found, tenant_of(world), "u1", NOW + timedelta(seconds=n))
        ).data.accessToken
        for n in range(limit + 2)
    ]
    later = NOW + timedelta(minutes=1)
    for token in issued[:2]:
        with pytest.raises(ApiError) as raised:
            await sessions.session_of(found.tokens, "shop", token, later)
        assert refused(raised) == (401, "unauthorized")
    for token in issued[2:]:
        assert (await sessions.session_of(found.tokens, "shop", token, later)).user_id == "u1"


@pytest.mark.parametrize(
    ("header", "programme_id", "at"),
    [
        (None, "shop", NOW),  # no token
        ("kwt_unknown", "shop", NOW),
        ("TOKEN", "shop", NOW + timedelta(days=2)),  # expired
        ("TOKEN", "other", NOW),  # issued for another programme
    ],
)
async def test_a_missing_unknown_expired_or_foreign_token_is_unauthorized(
    header: str | None, programme_id: str, at: datetime
) -> None:
    found = kwegg_stores()
    world = services(lambda *_: None, PROGRAMME)
    token = (await user_calls.login(found, tenant_of(world), "u1", NOW)).data.accessToken
    with pytest.raises(ApiError) as raised:
        await sessions.session_of(
            found.tokens, programme_id, header and header.replace("TOKEN", token), at
        )
    assert refused(raised) == (401, "unauthorized")


async def test_the_balance_holds_what_expires_and_the_tiers_progress() -> None:
    found = kwegg_stores()
    ledger = ledger_of(found)
    ledger.expiring["shop", "u1"] = [Expiring(date(2027, 1, 1), NOW + timedelta(days=28), 50)]
    ledger.tiers["shop", "u1"] = TierAssignment("blue", "e-1", NOW, "manual", None)
    world = services(lambda *_: None, PROGRAMME)
    data = (await user_calls.balance(found, call_of(world), "u1", NOW)).data
    assert (data.balance, data.pending) == (50, 0)
    assert [(e.date, e.points) for e in data.expiring] == [(date(2027, 1, 1), 50)]
    assert data.tier is not None
    assert (data.tier.name, data.tier.pointsEarned, data.tier.nextTier) == ("blue", 50, "gold")
    assert data.tier.pointsToNextTier == 50


async def test_a_user_never_booked_for_has_a_zero_balance() -> None:
    world = services(lambda *_: None)  # no configuration read yet: no tier either
    data = (await user_calls.balance(kwegg_stores(), call_of(world, "u2"), None, NOW)).data
    assert (data.balance, data.pending, data.expiring, data.tier) == (0, 0, [], None)


async def test_another_users_balance_is_forbidden() -> None:
    world = services(lambda *_: None, PROGRAMME)
    with pytest.raises(ApiError) as raised:
        await user_calls.balance(kwegg_stores(), call_of(world), "u2", NOW)
    assert refused(raised) == (403, "forbidden")


async def test_transactions_are_the_users_paged_with_their_total() -> None:
    found = kwegg_stores()
    ledger_of(found).book("shop", "u1", -20, NOW, variety="Redemption")
    world = services(lambda *_: None, PROGRAMME)
    data = (await user_calls.transactions(found, call_of(world), page=2, num_of_items=1)).data
    assert data.totalCount == 2
    (only,) = data.transactions
    assert (only.entry, only.type, only.points, only.balance) == ("DEBIT", "REDEMPTION", 20, 30)


async def test_offers_are_the_programmes_with_their_status_now() -> None:
    world = services(lambda *_: None, PROGRAMME)
    answer = await user_calls.offers(
        kwegg_stores(), tenant_of(world), page=1, num_of_items=10, now=NOW
    )
    assert [(o.id, o.status) for o in answer.data.offers] == [
        ("coffee", "ACTIVE"), ("old", "INACTIVE"), ("ended", "EXPIRED"),
    ]  # fmt: skip
    assert answer.data.totalCount == 3


async def test_a_redemption_debits_the_offer_and_answers_the_balance_after() -> None:
    found = kwegg_stores()
    world = services(debits(ledger_of(found)), PROGRAMME)
    data = (await user_calls.redeem(found, call_of(world), "coffee", RedeemRequest(), NOW)).data
    assert (data.offerId, data.status, data.points, data.balance) == ("coffee", "processed", 30, 20)
    (command,) = published(world)
    assert isinstance(command, LedgerCommand)
    assert (command.command_id, command.user_id) == (data.redemptionId, "u1")


async def test_a_redemption_retried_with_its_reference_is_answered_once() -> None:
    found = kwegg_stores()
    world = services(debits(ledger_of(found)), PROGRAMME)
    request = RedeemRequest(referenceId="order-1")
    first = await user_calls.redeem(found, call_of(world), "coffee", request, NOW)
    again = await user_calls.redeem(found, call_of(world), "coffee", request, NOW)
    assert again == first
    assert len(published(world)) == 1
    with pytest.raises(ApiError) as raised:  # the same reference for another offer
        await user_calls.redeem(found, call_of(world), "old", request, NOW)
    assert refused(raised) == (409, "conflict")
    assert len(published(world)) == 1


@pytest.mark.parametrize(
    ("offer_id", "user_id", "answer"),
    [
        ("nothing", None, (404, "not_found")),
        ("theirs", None, (404, "not_found")),  # another programme's offer
        ("old", None, (409, "conflict")),
        ("ended", None, (409, "conflict")),
        ("coffee", "u2", (403, "forbidden")),
    ],
)
async def test_a_redemption_refused_before_the_ledger_publishes_nothing(
    offer_id: str, user_id: str | None, answer: tuple[int, str]
) -> None:
    found = kwegg_stores()
    world = services(debits(ledger_of(found)), PROGRAMME)
    with pytest.raises(ApiError) as raised:
        await user_calls.redeem(found, call_of(world), offer_id, RedeemRequest(userId=user_id), NOW)
    assert refused(raised) == answer
    assert published(world) == []


async def test_a_balance_short_of_the_price_is_refused_without_asking_the_ledger() -> None:
    found = kwegg_stores()
    world = services(debits(ledger_of(found)), PROGRAMME)
    with pytest.raises(ApiError) as raised:
        await user_calls.redeem(found, call_of(world, "u2"), "coffee", RedeemRequest(), NOW)
    assert refused(raised) == (402, "insufficient_points")
    assert "balance 0 < 30" in raised.value.message
    assert published(world) == []


async def test_a_redemption_the_ledger_refuses_is_answered_with_its_reason() -> None:
    def refuses(command_id: str, record: EventV1 | LedgerCommand) -> CommandOutcome:
        return CommandOutcome(
            command_id=command_id, status=OutcomeStatus.REJECTED, points=0,
            reason_code=RejectionReason.INSUFFICIENT_POINTS, reason="balance 10 < 30",
        )  # fmt: skip

    world = services(refuses, PROGRAMME)
    with pytest.raises(ApiError) as raised:
        await user_calls.redeem(kwegg_stores(), call_of(world), "coffee", RedeemRequest(), NOW)
    assert refused(raised) == (402, "insufficient_points")
    assert "balance 10 < 30" in raised.value.message


async def test_a_redemption_the_ledger_has_not_answered_in_time_is_pending() -> None:
    world = services(lambda *_: None, PROGRAMME, wait_ms=0)
    data = (
        await user_calls.redeem(kwegg_stores(), call_of(world), "coffee", RedeemRequest(), NOW)
    ).data
    assert (data.status, data.points, data.balance) == ("pending", 30, None)
    assert len(published(world)) == 1

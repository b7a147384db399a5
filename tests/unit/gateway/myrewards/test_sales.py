"""MyRewards sales claims apart from HTTP and Postgres (`gateway.myrewards.sales`,
`gateway.myrewards.performance`): users, the programme's catalogue, the claims requests and the
ledger's reads in memory (tests/unit/gateway/myrewards/fakes.py), a request booked and answered
through the shared path's in-memory ports. The real routes and stores:
tests/e2e/test_myrewards.py, tests/integration/gateway/test_claims.py."""

from typing import Any

import pytest

from gateway.errors import ApiError
from gateway.myrewards import sales
from gateway.myrewards.catalogue_store import DataField
from gateway.myrewards.claims import Product
from gateway.myrewards.models import SalesData
from gateway.myrewards.ports import MyRewardsStores
from schemas.ledger import LedgerCommand
from tests.unit.gateway.myrewards.fakes import (
    FakeCatalogue,
    FakeUsers,
    LedgerWriter,
    claims_of,
    ledger_of,
    stores,
)
from tests.unit.gateway.publishing.fakes import published, services

CATALOGUE = FakeCatalogue(
    "shop",
    [Product(1, None, "SKU", 10), Product(2, 5, "PROMO", 3), Product(3, None, "FREE", 0)],
    fields={
        None: [DataField("store", "store_code", True, "free_text", None)],
        5: [DataField("store", "store_code", False, "free_text", None)],
    },
    promotions={5},
)


def myrewards() -> MyRewardsStores:
    return stores(FakeUsers("shop", u7="ann", u8="ben"), CATALOGUE)


def claim(sku: str = "SKU", quantity: int = 1, **more: Any) -> dict[str, Any]:
    return {"date_of_sale": "2026-11-30", "product_or_activity": sku, "quantity": quantity,
            "user_id": 7, "store": "S1", **more}  # fmt: skip


def without_store(given: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in given.items() if key != "store"}


def body(*claims: dict[str, Any], **more: Any) -> SalesData:
    return SalesData.model_validate({"data": list(claims), **more})


def refused(raised: pytest.ExceptionInfo[ApiError]) -> tuple[int, str]:
    return raised.value.status, raised.value.code


async def test_claims_are_stored_and_booked_in_one_command_each_for_its_user() -> None:
    found = myrewards()
    world = services(LedgerWriter(ledger_of(found)))
    request = body(
        claim(quantity=2),
        {**without_store(claim("FREE", user_id=None, username="BEN")), "store_code": "S2"},
    )
    answer = await sales.submit(found, world, "shop", None, request, None)
    assert (answer.status, answer.claims, answer.points) == ("booked", 2, 20)
    (command,) = published(world)
    assert isinstance(command, LedgerCommand)
    # A 0-point claim is stored and listed, and books nothing.
    assert [(b.user_id, b.points) for b in command.bookings] == [("7", 20)]
    listed, total = await sales.listing(found, "shop", "booked", 1, 10)
    assert total == 2
    assert [(c.user_id, c.points, c.custom_fields) for c in listed] == [
        (7, 20, {"store": "S1"}), (8, 0, {"store": "S2"}),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("claims", "problem"),
    [
        ([claim(), claim(user_id=9)], "data[1]: user 9 is unknown"),
        ([claim(user_id=None, username="nobody")], "data[0]: user 'nobody' is unknown"),
        ([claim("NOPE")], "data[0]: 'NOPE' is not a product"),
        ([claim("PROMO")], "data[0]: product 'PROMO' is claimable only with promotion 5"),
        ([{**claim(), "store": None}], "data[0].store: must be text or a number"),
        ([without_store(claim())], "mandatory data fields missing"),
    ],
)
async def test_an_invalid_claim_refuses_the_whole_request_and_nothing_is_stored(
    claims: list[dict[str, Any]], problem: str
) -> None:
    found = myrewards()
    world = services(LedgerWriter(ledger_of(found)))
    with pytest.raises(ApiError) as raised:
        await sales.submit(found, world, "shop", None, body(*claims), "k")
    assert refused(raised) == (400, "invalid_request")
    assert problem in raised.value.message
    assert (claims_of(found).requests, published(world)) == ({}, [])


async def test_a_promotions_claims_need_the_promotion_active_in_the_programme() -> None:
    found = myrewards()
    world = services(LedgerWriter(ledger_of(found)))
    with pytest.raises(ApiError) as raised:
        await sales.submit(found, world, "shop", 6, body(claim("PROMO")), None)
    assert refused(raised) == (404, "not_found")
    with pytest.raises(ApiError) as raised:  # the body's promotion differs from the path's
        await sales.submit(found, world, "shop", 5, body(claim("PROMO"), promotion_id=6), None)
    assert refused(raised) == (400, "invalid_request")
    answer = await sales.submit(found, world, "shop", 5, body(claim("PROMO", 4)), None)
    assert (answer.status, answer.points) == ("booked", 12)


async def test_a_request_retried_with_its_key_is_answered_once_and_another_is_refused() -> None:
    found = myrewards()
    world = services(LedgerWriter(ledger_of(found)))
    first = await sales.submit(found, world, "shop", None, body(claim()), "k")
    again = await sales.submit(found, world, "shop", None, body(claim()), "k")
    assert again == first
    with pytest.raises(ApiError) as raised:
        await sales.submit(found, world, "shop", None, body(claim(quantity=3)), "k")
    assert refused(raised) == (409, "idempotency_conflict")
    assert len(published(world)) == 1


async def test_a_request_the_ledger_refuses_is_forgotten_but_its_refusal_is_kept() -> None:
    found = myrewards()
    world = services(LedgerWriter(ledger_of(found), budget=5))
    for _ in range(2):  # the retry is answered from the stored refusal
        with pytest.raises(ApiError) as raised:
            await sales.submit(found, world, "shop", None, body(claim()), "short")
        assert refused(raised) == (412, "programme_budget_exhausted")
    assert len(published(world)) == 1
    for status in ("booked", "pending"):
        assert await sales.listing(found, "shop", status, 1, 10) == ([], 0)


async def test_a_pending_request_is_settled_by_a_listing_once_the_ledger_has_booked_it() -> None:
    found = myrewards()
    world = services(lambda *_: None, wait_ms=0)  # no ledger answers in time
    answer = await sales.submit(found, world, "shop", None, body(claim(), claim()), "late")
    assert (answer.status, answer.claims, answer.points) == ("pending", 2, 20)
    assert (await sales.listing(found, "shop", "pending", 1, 10))[1] == 2
    assert claims_of(found).asked == [answer.reference]  # asked about, no outcome yet
    (command,) = published(world)
    assert isinstance(command, LedgerCommand)
    LedgerWriter(ledger_of(found))(command.command_id, command)  # the ledger books it later
    assert (await sales.listing(found, "shop", "booked", 1, 10))[1] == 2
    assert (await sales.listing(found, "shop", "pending", 1, 10))[1] == 0
    retried = await sales.submit(found, world, "shop", None, body(claim(), claim()), "late")
    assert (retried.status, retried.reference) == ("booked", answer.reference)
    assert len(published(world)) == 1

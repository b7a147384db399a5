"""What a sales claim earns and the one ledger command a request books (pure)."""

from datetime import date
from typing import Any

import pytest

from gateway.myrewards import claims
from gateway.myrewards.claims import PricedClaim, Product
from gateway.myrewards.errors import Invalid
from gateway.myrewards.models import Claim, SalesData
from ledger.core.batch import IncomingCommand
from ledger.core.hashing import digests
from schemas.ledger import TransactionType, Variety

CATALOGUE = [
    Product(1, None, "SKU-1", 10),
    Product(2, 7, "SKU-1", 20),
    Product(3, 7, "PROMO-ONLY", 5),
    Product(4, 8, "PROMO-ONLY", 6),
    Product(5, None, "LEAFLET", 0),
]


def claim(sku: str, quantity: int = 1, **extra: Any) -> Claim:
    return Claim.model_validate(
        {"date_of_sale": "2016-10-01", "product_or_activity": sku, "quantity": quantity} | extra
    )


@pytest.mark.parametrize(
    ("sku", "promotion_id", "product_id"),
    [("SKU-1", None, 1), ("SKU-1", 7, 2), ("SKU-1", 8, 1), ("PROMO-ONLY", 8, 4)],
)
def test_a_promotions_own_product_comes_before_the_programmes(
    sku: str, promotion_id: int | None, product_id: int
) -> None:
    assert claims.product_for(CATALOGUE, promotion_id, claim(sku), 0).product_id == product_id


def test_a_promotions_product_is_claimable_only_with_its_promotion() -> None:
    with pytest.raises(
        Invalid, match=r"data\[3\]: .*'PROMO-ONLY' is claimable only with promotion 7, 8"
    ):
        claims.product_for(CATALOGUE, None, claim("PROMO-ONLY"), 3)


@pytest.mark.parametrize("sku", ["UNKNOWN", "sku-1", "SKU-1 "])
def test_an_unknown_sku_is_refused_naming_the_claim(sku: str) -> None:
    with pytest.raises(Invalid, match=r"^data\[2\]: .* is not a product of this programme$"):
        claims.product_for(CATALOGUE, None, claim(sku), 2)


def test_a_claim_earns_points_per_unit_times_quantity() -> None:
    priced = claims.priced(claim("SKU-1", 3), 0, 42, CATALOGUE[1])
    assert (priced.points, priced.product_id, priced.user_id) == (60, 2, 42)


def priced_claims() -> list[PricedClaim]:
    sold = date(2016, 10, 1)
    return [
        PricedClaim(index=0, user_id=11, product_id=1, sku="SKU-1", quantity=2, points=20,
                    date_of_sale=sold),
        PricedClaim(index=1, user_id=12, product_id=5, sku="LEAFLET", quantity=9, points=0,
                    date_of_sale=sold),
        PricedClaim(index=2, user_id=12, product_id=1, sku="SKU-1", quantity=1, points=10,
                    date_of_sale=sold),
    ]  # fmt: skip


def test_a_request_is_one_command_crediting_each_claims_user() -> None:
    command = claims.command_for("prog", "myrewards-claims:c1", priced_claims(), 7)
    assert (command.programme_id, command.user_id) == ("prog", "11")
    assert [(b.idempotency_key, b.user_id, b.points) for b in command.bookings] == [
        ("myrewards-claims:c1:0", "11", 20),
        ("myrewards-claims:c1:2", "12", 10),
    ]
    assert {(b.transaction_type, b.variety) for b in command.bookings} == {
        (TransactionType.CREDIT, Variety.PROGRAMME_POINTS)
    }
    assert command.bookings[0].reason == "Sales claim 2016-10-01: 2 x SKU-1"
    # The ledger's decoding works out every user's account.
    owners = {key.owner_id for key in IncomingCommand.of(command).accounts if key.owner_id}
    assert owners == {"11", "12"}


def test_the_command_is_rebuilt_alike_from_the_stored_claims_in_any_order() -> None:
    first = claims.command_for("prog", "c", priced_claims(), None)
    again = claims.command_for("prog", "c", list(reversed(priced_claims())), None)
    assert digests(first) == digests(again)


def test_claims_that_earn_nothing_make_a_command_without_bookings() -> None:
    leaflet = priced_claims()[1]
    command = claims.command_for("prog", "c", [leaflet], None)
    assert (command.user_id, command.bookings) == ("12", [])


def test_the_command_id_is_the_idempotency_keys_in_the_programme() -> None:
    assert claims.command_id_for("a", "k") == claims.command_id_for("a", "k")
    assert claims.command_id_for("a", "k") != claims.command_id_for("b", "k")
    assert claims.command_id_for("a", None) != claims.command_id_for("a", None)
    assert claims.command_id_for("a", "k").startswith(claims.COMMAND_PREFIX)


def test_the_request_digest_covers_the_promotion_and_every_claims_field() -> None:
    body = SalesData(data=[claim("SKU-1", username="u@example.com", Venue="V1")])
    same = SalesData.model_validate(
        {
            "data": [
                {
                    "Venue": "V1",
                    "username": "u@example.com",
                    "quantity": "1",
                    "product_or_activity": "SKU-1",
                    "date_of_sale": "2016-10-01",
                }
            ]
        }
    )
    other_field = SalesData(data=[claim("SKU-1", username="u@example.com", Venue="V2")])
    digest = claims.request_sha256(None, body)
    assert claims.request_sha256(None, same) == digest
    assert claims.request_sha256(7, body) != digest
    assert claims.request_sha256(None, other_field) != digest


def test_the_request_digest_takes_any_json_number() -> None:
    """Taken before the custom fields are checked: a number no data field accepts is refused
    by the check (400), not by the digest."""
    huge = SalesData(data=[claim("SKU-1", username="u", Venue=10**30, Rate=float("nan"))])
    assert len(claims.request_sha256(None, huge)) == 32

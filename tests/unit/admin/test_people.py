"""The pure parts of the users, dead letters, offers and MyRewards pages: the adjustment's
ledger command (the same for a double submit), a dead letter's row and how its bytes are
shown, the programme a record names, a MyRewards row placed in the whole set-up and its form
built from the file model, an offer's end in the programme's time zone, a user's tier."""

import base64
from datetime import UTC, datetime

import orjson
import pytest

from gateway.admin.api.app import create_api
from gateway.admin.console.row_fields import default_values, form_values, row_data, row_fields
from gateway.admin.service import adjustments, myrewards, offers, users
from gateway.admin.service.actors import Actor
from gateway.admin.service.adjustments import Adjusted, Adjustment
from gateway.admin.service.dead_letter_rows import (
    UNREADABLE,
    LetterRecord,
    programme_named,
    row_of,
    shown,
)
from gateway.admin.service.errors import Invalid, NotFound
from gateway.myrewards.configuration import MyRewardsConfig, Product, UserGroup
from ledger import reads
from schemas.dead_letters import DeadLetter, SourceRecord
from schemas.ledger import CommandOutcome, OutcomeStatus, RejectionReason, TransactionType
from schemas.programme import ProgrammeConfig

ADMIN = Actor("ann@example.com", "editor", 1, frozenset({"p"}), "ann@example.com")
OTHER = Actor("bob@example.com", "editor", 2, frozenset({"p"}), "bob@example.com")


def test_an_adjustment_is_one_adjustment_booking_the_same_for_a_double_submit() -> None:
    asked = Adjustment(transaction_type=TransactionType.DEBIT, points=30, reason="correction")
    command_id = adjustments.command_id_for("p", "u1", "key-1")
    assert command_id == adjustments.command_id_for("p", "u1", "key-1")
    assert command_id != adjustments.command_id_for("p", "u2", "key-1")
    assert command_id.startswith(adjustments.COMMAND_PREFIX)
    first = adjustments.command_for("p", "u1", asked, command_id, ADMIN)
    (booking,) = first.bookings
    assert (booking.variety, booking.transaction_type, booking.points, booking.reason) == (
        "Adjustment", "Debit", 30, "correction",
    )  # fmt: skip
    assert booking.idempotency_key == command_id
    # Whoever submits it again, the ledger sees the same command (the explanation is not
    # compared), so it books it once.
    again = adjustments.command_for("p", "u1", asked, command_id, OTHER)
    assert reads.command_digest(again) == reads.command_digest(first)
    assert adjustments.command_id_for("p", "u1", None) != adjustments.command_id_for(
        "p", "u1", None
    )


def test_an_adjustment_form_is_refused_by_field() -> None:
    with pytest.raises(Invalid) as refused:
        adjustments.parse({"transaction_type": "Gift", "points": "0", "reason": ""})
    assert set(refused.value.fields) == {"transaction_type", "points", "reason"}
    parsed = adjustments.parse({"transaction_type": "Credit", "points": "5", "reason": "x"})
    assert parsed.points == 5


def outcome(status: OutcomeStatus, **more: object) -> CommandOutcome:
    return CommandOutcome.model_validate({"command_id": "c", "status": status, "points": 0} | more)


def test_an_adjustment_is_booked_refused_or_pending() -> None:
    assert Adjusted("c", None).status == "pending"
    assert Adjusted("c", outcome(OutcomeStatus.BOOKED)).status == "booked"
    assert Adjusted("c", outcome(OutcomeStatus.DUPLICATE)).status == "booked"
    refused = outcome(OutcomeStatus.REJECTED, reason_code=RejectionReason.INSUFFICIENT_POINTS)
    assert Adjusted("c", refused).status == "rejected"


def test_a_tier_set_is_set_refused_or_pending() -> None:
    assert users.TierSet("e", "Gold", None).status == "pending"
    assigned = outcome(OutcomeStatus.BOOKED, explanation={"reason_code": "tier_assigned"})
    assert users.TierSet("e", "Gold", assigned).status == "set"
    invalid = outcome(OutcomeStatus.BOOKED, explanation={"reason_code": "invalid_parameters"})
    assert users.TierSet("e", "Gold", invalid).status == "refused"


def test_a_users_tier_is_the_assigned_one_or_the_default() -> None:
    config = ProgrammeConfig.model_validate(
        {"programme_id": "p", "version": 1, "tiers": [{"name": "Base"}, {"name": "Gold"}],
         "default_tier": "Base"}
    )  # fmt: skip
    assert users.tier_of(config, None) == users.UserTier("Base", None, known_tier=True)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    gold = users.tier_of(config, reads.TierAssignment("Gold", "evt_1", at))
    assert (gold.name, gold.known_tier) == ("Gold", True)
    gone = users.tier_of(config, reads.TierAssignment("Silver", "evt_2", at))
    assert (gone.name, gone.known_tier) == ("Silver", False)


@pytest.mark.parametrize("text", ["", " ", "a/b", "x" * 129])
def test_a_user_id_that_no_path_can_carry_is_refused(text: str) -> None:
    with pytest.raises(Invalid):
        users.user_id_of(text)


def test_a_user_id_keeps_what_events_allow() -> None:
    assert users.user_id_of(" usr 1 ") == "usr 1"
    assert users.user_id_of("ünï@x.com") == "ünï@x.com"


def letter_record(letter: DeadLetter, offset: int = 7) -> LetterRecord:
    return LetterRecord("dead", 0, offset, 1_700_000_000_000, b"events:0",
                        letter.model_dump_json().encode())  # fmt: skip


def test_a_dead_letter_is_stored_with_its_original_bytes_and_programme() -> None:
    source = SourceRecord("events.v1", 3, 41, b"shop:usr_1", b'{"not": "an event"}', 1_700_000)
    letter = DeadLetter.of(source, "invalid_event", "event_id: missing", "processors")
    row = row_of(letter_record(letter))
    assert (row.letter_topic, row.letter_partition, row.letter_offset) == ("dead", 0, 7)
    assert (row.reason, row.error, row.producer) == ("invalid_event", "event_id: missing",
                                                     "processors")  # fmt: skip
    assert (row.source_topic, row.source_partition, row.source_offset) == ("events.v1", 3, 41)
    assert row.source_at == datetime.fromtimestamp(1_700, tz=UTC)
    assert (row.original_key, row.original_value) == (b"shop:usr_1", b'{"not": "an event"}')
    assert row.programme_id == "shop"
    assert row.letter_at == datetime.fromtimestamp(1_700_000_000, tz=UTC)


def test_a_record_of_the_dead_letter_topic_that_is_no_dead_letter_is_kept_as_unreadable() -> None:
    row = row_of(LetterRecord("dead", 0, 9, None, b"shop:u", b"\xff garbage"))
    assert row.reason == UNREADABLE
    assert row.error.startswith("not a dead letter")
    assert (row.source_topic, row.source_offset, row.original_value) == ("dead", 9, b"\xff garbage")
    assert row.programme_id is None
    bad_base64 = orjson.dumps(
        {"schema_version": 1, "reason": "r", "error": "e", "source_topic": "t",
         "source_partition": 0, "source_offset": 1, "original_key_base64": None,
         "original_value_base64": "***", "producer": "x"}
    )  # fmt: skip
    assert row_of(LetterRecord("dead", 0, 10, None, None, bad_base64)).reason == UNREADABLE


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [(b"shop:usr_1", None, "shop"), (None, b'{"programme_id": "kw"}', "kw"),
     (b"no-colon", b'{"programme_id": "kw"}', "kw"), (b"\xff:x", b"[1]", None),
     (None, b"not json", None), (b":x", b'{"programme_id": 5}', None), (None, None, None)],
)  # fmt: skip
def test_the_programme_a_record_names(
    key: bytes | None, value: bytes | None, expected: str | None
) -> None:
    assert programme_named(key, value) == expected


def test_bytes_are_shown_as_json_text_or_base64() -> None:
    assert shown(None).encoding == "none"
    assert shown(b'{"a":1}').text == '{\n  "a": 1\n}'
    assert shown(b"shop:usr_1").encoding == "text"
    binary = shown(b"\x00\xffk")
    assert binary.encoding == "base64"
    assert base64.b64decode(binary.text) == b"\x00\xffk"


SETUP = MyRewardsConfig.model_validate(
    {"programme_id": "p",
     "promotions": [{"id": 1, "name": "Autumn"}],
     "products": [{"id": 1, "product_or_activity": "SKU-1", "name": "One", "points_per_unit": 10},
                  {"id": 2, "product_or_activity": "SKU-2", "name": "Two", "points_per_unit": 5,
                   "promotion_id": 1}]}
)  # fmt: skip


def test_a_myrewards_row_replaces_the_row_of_its_id_or_is_added() -> None:
    changed = Product(id=2, product_or_activity="SKU-2", name="Two", points_per_unit=7,
                      promotion_id=1)  # fmt: skip
    after = myrewards.with_row(SETUP, "products", changed)
    assert [p.points_per_unit for p in after.products] == [10, 7]
    added = myrewards.with_row(SETUP, "user_groups", UserGroup(id=4, name="Sales"))
    assert [g.id for g in added.user_groups] == [4]
    assert myrewards.row_of(after, "products", 2) == changed
    with pytest.raises(NotFound):
        myrewards.row_of(after, "products", 3)


def test_a_myrewards_row_is_refused_as_a_file_would_be() -> None:
    twin = Product(id=3, product_or_activity="SKU-1", name="Twin", points_per_unit=1)
    with pytest.raises(Invalid) as repeated:
        myrewards.with_row(SETUP, "products", twin)
    assert any("same SKU" in problem for problem in repeated.value.general)
    orphan = Product(id=3, product_or_activity="X", name="X", points_per_unit=1, promotion_id=9)
    with pytest.raises(Invalid) as unknown:
        myrewards.with_row(SETUP, "products", orphan)
    assert any("promotion_id" in problem for problem in unknown.value.general)
    with pytest.raises(Invalid) as fields:
        myrewards.parse_row("products", {"id": "x", "name": "", "points_per_unit": -1})
    assert {"id", "name", "points_per_unit", "product_or_activity"} <= set(fields.value.fields)
    with pytest.raises(NotFound):
        myrewards.kind_of("users")


def test_a_myrewards_rows_form_is_the_file_models_fields() -> None:
    fields = {f.name: f for f in row_fields(Product)}
    assert list(fields) == ["id", "product_or_activity", "name", "points_per_unit",
                            "promotion_id", "active"]  # fmt: skip
    assert (fields["active"].kind, fields["promotion_id"].optional) == ("flag", True)
    assert (fields["points_per_unit"].kind, fields["points_per_unit"].optional) == ("number", False)
    assert "quantity" in fields["points_per_unit"].hint
    question = {f.name: f for f in row_fields(myrewards.ROWS["registration_questions"])}
    assert question["field_type"].choices[:2] == ("check_box", "date_select")
    assert question["options"].kind == "multiline"
    product = SETUP.products[1]
    values = form_values(product)
    assert values == {"id": "2", "product_or_activity": "SKU-2", "name": "Two",
                      "points_per_unit": "5", "promotion_id": "1", "active": "true"}  # fmt: skip
    assert default_values(Product) == {"active": "true"}
    assert default_values(UserGroup) == {"default": "false", "position": "1"}
    # An unticked box is false; an empty optional input is left to its default.
    data = row_data(row_fields(Product), values | {"promotion_id": "", "active": ""})
    assert myrewards.parse_row("products", data) == Product(
        id=2, product_or_activity="SKU-2", name="Two", points_per_unit=5, active=False
    )


def test_an_offers_end_without_an_offset_is_in_the_programmes_time_zone() -> None:
    made = offers.parse({"name": "Coffee", "points": "150", "valid_until": "2027-01-01T09:00",
                         "offer_id": ""}, "Europe/Paris")  # fmt: skip
    assert made.valid_until == datetime(2027, 1, 1, 8, 0, tzinfo=UTC)
    assert made.offer_id is None
    aware = offers.parse({"name": "Tea", "points": 5, "valid_until": "2027-01-01T09:00Z"})
    assert aware.valid_until == datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
    with pytest.raises(Invalid) as refused:
        offers.parse({"name": "", "points": "0", "offer_id": "no spaces", "valid_until": "soon"})
    assert set(refused.value.fields) == {"name", "points", "offer_id", "valid_until"}


def test_the_admin_api_documents_these_pages_twins() -> None:
    paths = set(create_api().openapi()["paths"])
    assert {
        "/programmes/{programme_id}/users/{user_id}",
        "/programmes/{programme_id}/users/{user_id}/transactions",
        "/programmes/{programme_id}/users/{user_id}/transactions/{entry_id}",
        "/programmes/{programme_id}/users/{user_id}/adjustments",
        "/programmes/{programme_id}/users/{user_id}/tier",
        "/dead-letters", "/dead-letters/{dead_letter_id}",
        "/dead-letters/{dead_letter_id}/replay", "/dead-letters/{dead_letter_id}/discard",
        "/programmes/{programme_id}/webhooks",
        "/programmes/{programme_id}/webhooks/{subscription_id}/deactivate",
        "/programmes/{programme_id}/webhook-deliveries",
        "/programmes/{programme_id}/webhook-deliveries/{delivery_id}/retry",
        "/programmes/{programme_id}/offers", "/programmes/{programme_id}/offers/{offer_id}/end",
        "/programmes/{programme_id}/myrewards",
        "/programmes/{programme_id}/myrewards/{kind}/{row_id}",
    } <= paths  # fmt: skip

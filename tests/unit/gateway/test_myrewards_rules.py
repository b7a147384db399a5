"""MyRewards' pure rules: registration requirements, claims against data fields, and the ledger
command a points transaction becomes."""

from datetime import date
from typing import Any

import pytest

from gateway.myrewards.errors import Invalid
from gateway.myrewards.models import Claim, RegistrationAnswer, TransactionFields
from gateway.myrewards.performance import DataField, check_claim
from gateway.myrewards.registration import (
    Catalogue,
    Question,
    RegistrationPolicy,
    check_answers,
    check_group,
    check_user,
    identity_key,
    options_of,
)
from gateway.myrewards.transactions import command_for, command_id_for
from ledger.core.batch import IncomingCommand
from ledger.reads import command_digest
from schemas.ledger import LedgerCommand, TransactionType, Variety

POLICY = RegistrationPolicy("username", ("company",), consent_required=True)
USER = {
    "username": "BWayne",
    "firstname": "Bruce",
    "lastname": "Wayne",
    "company": "Wayne Inc",
    "tsandcs": True,
    "consented": True,
}
CATALOGUE = Catalogue(
    questions={
        2: Question(2, "Why?", True, "text", None, True),
        16: Question(16, "Butler", False, "radio", "Alfred Jarvis", False),
        17: Question(17, "Since", False, "date_select", None, False),
        18: Question(18, "Team", False, "user_group", None, False),
    },
    group_ids=frozenset({1, 10}),
    default_group_id=10,
)


def answer(question_id: int, text: str) -> RegistrationAnswer:
    return RegistrationAnswer(registration_question_id=question_id, answer=text)


def test_a_complete_user_passes_and_is_identified_case_insensitively() -> None:
    check_user(POLICY, USER)
    assert identity_key(POLICY, USER) == "bwayne"
    assert identity_key(RegistrationPolicy("mobile"), {"mobile": " +447765432101"}) == (
        "+447765432101"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"firstname": None}, "firstname"),
        ({"company": " "}, "company"),
        ({"consented": None}, "consented"),
        ({"tsandcs": False}, "terms"),
        ({"username": None}, "username"),
    ],
)
def test_a_user_missing_a_requirement_is_invalid(change: dict[str, Any], message: str) -> None:
    with pytest.raises(Invalid, match=message):
        check_user(POLICY, USER | change)


def test_consent_is_needed_only_where_the_programme_asks_for_it() -> None:
    check_user(RegistrationPolicy("username"), USER | {"consented": None, "company": None})


def test_answers_are_merged_with_the_stored_ones_and_checked() -> None:
    answers = check_answers(CATALOGUE, [answer(16, "Alfred"), answer(18, "10")], {2: "Batman"})
    assert answers == {2: "Batman", 16: "Alfred", 18: "10"}


@pytest.mark.parametrize(
    "given",
    [
        [answer(16, "Robin")],
        [answer(17, "yesterday")],
        [answer(18, "99")],
        [answer(99, "x")],
        [answer(2, "a"), answer(2, "b")],
        [answer(2, " ")],
    ],
)
def test_invalid_or_missing_answers_are_refused(given: list[RegistrationAnswer]) -> None:
    with pytest.raises(Invalid):
        check_answers(CATALOGUE, given, {2: "Batman"} if given[0].answer != " " else {})


def test_options_are_lines_or_else_words() -> None:
    assert options_of(Question(1, "", False, "select", "a b c", False)) == ["a", "b", "c"]
    assert options_of(Question(1, "", False, "select", "Big one\r\nSmall one", False)) == [
        "Big one",
        "Small one",
    ]


def test_a_user_group_must_be_the_programmes() -> None:
    check_group(CATALOGUE, 10)
    check_group(CATALOGUE, None)
    with pytest.raises(Invalid):
        check_group(CATALOGUE, 11)


FIELDS = [
    DataField("Venue Code", "venue-code", True, "free_text", None),
    DataField("Amount", "amount", False, "numeric", None),
    DataField("Opened", "opened", False, "date", None),
    DataField("Superpower", "superpower", False, "list_values", "Flight\r\nOther"),
]


def claim(**custom: Any) -> Claim:
    return Claim.model_validate(
        {
            "date_of_sale": "2016-10-01",
            "product_or_activity": "Booking type 1",
            "quantity": 1,
            "user_id": 5,
            **custom,
        }
    )


def test_custom_fields_are_checked_by_name_or_selector() -> None:
    given = claim(**{"Venue Code": "DV1", "amount": "12.5", "Opened": "2016-01-31"})
    assert check_claim(FIELDS, given, 0) == {
        "Venue Code": "DV1",
        "Amount": "12.5",
        "Opened": "2016-01-31",
    }
    assert claim().date_of_sale == date(2016, 10, 1)


@pytest.mark.parametrize(
    "custom",
    [
        {},
        {"Venue Code": "DV1", "Amount": "lots"},
        {"Venue Code": "DV1", "Amount": "NaN"},
        {"Venue Code": "DV1", "Opened": "2016-02-30"},
        {"Venue Code": "DV1", "Superpower": "Laser"},
        {"Venue Code": "DV1", "Colour": "red"},
        {"Venue Code": "DV1", "venue-code": "DV2"},
        {"Venue Code": True},
        {"Venue Code": {"nested": 1}},
        {"Venue Code": 2**63},
        {"Venue Code": -(2**63) - 1},
        {"Venue Code": float("nan")},
        {"Venue Code": float("inf")},
    ],
)
def test_a_claim_against_the_fields_rules_is_invalid(custom: dict[str, Any]) -> None:
    with pytest.raises(Invalid, match=r"data\[3\]"):
        check_claim(FIELDS, claim(**custom), 3)


def test_an_idempotency_key_makes_the_command_id_deterministic_per_programme_and_user() -> None:
    assert command_id_for("p", 1, "k") == command_id_for("p", 1, "k")
    assert command_id_for("p", 1, "k") != command_id_for("p", 2, "k")
    assert command_id_for("p", 1, "k") != command_id_for("q", 1, "k")
    assert command_id_for("p", 1, None) != command_id_for("p", 1, None)


def test_a_transaction_is_one_booking_keyed_by_the_command_id() -> None:
    fields = TransactionFields(
        transaction_type=TransactionType.DEBIT,
        variety=Variety.PERSON_TO_PERSON_TRANSFER,
        points=20,
        reason="Thanks",
        remote_transaction_id="r-1",
        counterparty_user_id=7,
    )
    command = command_for("p", 5, fields, "myrewards:abc")
    assert command.user_id == "5"
    assert command.command_id == "myrewards:abc"
    [booking] = command.bookings
    assert booking.idempotency_key == "myrewards:abc"
    assert booking.counterparty_user_id == "7"
    assert booking.remote_transaction_id == "r-1"
    assert booking.lineage.occurred_at is None  # a retry builds the very same payload
    assert command == command_for("p", 5, fields, "myrewards:abc")


def test_a_retry_has_the_payload_digest_the_ledger_stores_and_another_transaction_not() -> None:
    fields = TransactionFields(
        transaction_type=TransactionType.CREDIT,
        variety=Variety.PROGRAMME_POINTS,
        points=100,
        reason="Employee of the month",
    )
    command = command_for("p", 5, fields, "myrewards:abc")
    decoded = IncomingCommand.of(LedgerCommand.model_validate_json(command.model_dump_json()))
    assert command_digest(command) == decoded.payload_sha256
    other = command_for("p", 5, fields.model_copy(update={"points": 101}), "myrewards:abc")
    assert command_digest(other) != command_digest(command)

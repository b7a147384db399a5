"""MyRewards' request parsing: the Authorization header, Rails-style form keys, and bodies given
as JSON or HTML form data."""

import pytest
from fastapi.exceptions import RequestValidationError

from gateway.bodies import validated
from gateway.errors import Unauthorized
from gateway.myrewards.bodies import form_fields
from gateway.myrewards.credentials import api_key_of
from gateway.myrewards.forms import FIELDS_MAX, FormError, nest
from gateway.myrewards.models import SalesData, TransactionRequest, UserFields
from schemas.ledger import TransactionType, Variety

KEY = "lk_live_demo_local-only-not-a-secret"


@pytest.mark.parametrize(
    "header",
    [
        f"Token token={KEY}",
        f"TOKEN token={KEY}",
        f'Token token="{KEY}"',
        f"token  token = {KEY}",
        "Token token=lk_live_demo:local-only-not-a-secret",
        'TOKEN token="lk_live_demo:local-only-not-a-secret"',
    ],
)
def test_the_token_forms_of_the_seed_give_the_key(header: str) -> None:
    assert api_key_of(header) == KEY


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        KEY,
        f"Bearer {KEY}",
        "Token token=",
        "Token token=a:b:c",
        "Token token=:secret",
        f"Token token={KEY} extra",
        "Token token=" + "x" * 600,
    ],
)
def test_anything_else_is_an_invalid_key(header: str | None) -> None:
    with pytest.raises(Unauthorized, match="invalid key"):
        api_key_of(header)


def test_nested_form_keys_read_like_json() -> None:
    fields = [
        ("transaction[transaction_type]", "Credit"),
        ("transaction[points]", "100"),
        ("answers[][registration_question_id]", "2"),
        ("answers[][answer]", "Batman"),
        ("answers[][registration_question_id]", "16"),
        ("answers[][answer]", "Alfred"),
        ("tags[]", "a"),
        ("tags[]", "b"),
        ("indexed[1][id]", "second"),
        ("indexed[0][id]", "first"),
    ]
    assert nest(fields) == {
        "transaction": {"transaction_type": "Credit", "points": "100"},
        "answers": [
            {"registration_question_id": "2", "answer": "Batman"},
            {"registration_question_id": "16", "answer": "Alfred"},
        ],
        "tags": ["a", "b"],
        "indexed": [{"id": "first"}, {"id": "second"}],
    }


@pytest.mark.parametrize(
    "fields",
    [
        [("a", "1"), ("a", "2")],
        [("a", "1"), ("a[b]", "2")],
        [("a[b]", "1"), ("a[]", "2")],
        [("a[b", "1")],
        [("[a]", "1")],
        [("a[b][c][d][e]", "1")],
        [("a[][]", "1")],
        [("__list__[x]", "1")],
        [(f"k{index}", "v") for index in range(FIELDS_MAX + 1)],
    ],
)
def test_conflicting_or_unbounded_form_keys_are_refused(fields: list[tuple[str, str]]) -> None:
    with pytest.raises(FormError):
        nest(fields)


def test_the_seeds_transaction_as_form_data() -> None:
    body = (
        b"transaction%5Btransaction_type%5D=Credit&transaction%5Bvariety%5D=Programme+Points"
        b"&transaction%5Bpoints%5D=100&transaction%5Breason%5D=Employee+of+the+month"
    )
    request = validated(TransactionRequest, form_fields(body))
    assert request.transaction.transaction_type is TransactionType.CREDIT
    assert request.transaction.variety is Variety.PROGRAMME_POINTS
    assert request.transaction.points == 100
    assert request.transaction.reason == "Employee of the month"


@pytest.mark.parametrize("body", [b"points", b"\xff=1", b"a=1&a=2", b"transaction=1"])
def test_a_malformed_form_is_a_validation_error(body: bytes) -> None:
    with pytest.raises(RequestValidationError):
        validated(TransactionRequest, form_fields(body))


@pytest.mark.parametrize("points", [True, 0, -1, 10**12 + 1, "1.5", None, "many"])
def test_points_are_a_positive_integer_never_a_boolean(points: object) -> None:
    body = {
        "transaction": {
            "transaction_type": "Credit",
            "variety": "Adjustment",
            "points": points,
            "reason": "r",
        }
    }
    with pytest.raises(RequestValidationError):
        validated(TransactionRequest, body)


def test_user_fields_read_strings_as_the_seed_sends_them() -> None:
    fields = validated(
        UserFields,
        {
            "tsandcs": "true",
            "user_group_id": "10",
            "date_of_birth": "1980-02-19",
            "mobile": "+447765432101",
            "registration_answers_attributes": [
                {"registration_question_id": "2", "answer": "Because I'm Batman"}
            ],
        },
    )
    assert fields.tsandcs is True
    assert fields.user_group_id == 10
    assert fields.given() == {
        "tsandcs": True,
        "user_group_id": 10,
        "date_of_birth": fields.date_of_birth,
        "mobile": "+447765432101",
    }


@pytest.mark.parametrize(
    "change",
    [
        {"mobile": "07765432101"},
        {"telephone": "+44 7876"},
        {"date_of_birth": "19-02-1980"},
        {"date_of_birth": 19800219},
        {"email": "bruce"},
        {"user_group_id": True},
        {"unknown": "x"},
    ],
)
def test_malformed_user_fields_are_refused(change: dict[str, object]) -> None:
    with pytest.raises(RequestValidationError):
        validated(UserFields, change)


def test_a_claim_keeps_its_custom_fields() -> None:
    data = validated(
        SalesData,
        {
            "data": [
                {
                    "date_of_sale": "2016-10-01",
                    "product_or_activity": "Booking type 1",
                    "quantity": 1,
                    "username": "user@example.com",
                    "Custom Data Field Text": "DV1",
                }
            ]
        },
    )
    assert data.data[0].custom_fields() == {"Custom Data Field Text": "DV1"}


def test_nul_characters_are_refused_in_forms() -> None:
    with pytest.raises(RequestValidationError):
        form_fields(b"username=a%00b")

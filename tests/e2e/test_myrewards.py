"""The MyRewards API of seed 002 against the running system: the seed's example requests as
written (JSON and HTML form data), every status the seed lists, idempotent retries, scoped reads,
users with the programme's mandatory fields and questions, and performance data."""

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.case import Case
from schemathesis.specs.openapi.checks import negative_data_rejection, status_code_conformance

from deploy.local.settings import LocalSettings
from gateway.admin import api_keys, programmes
from gateway.myrewards import configuration
from gateway.myrewards.configuration import MyRewardsConfig
from ledger.repository import fund_budget
from schemas.programme import ProgrammeConfig
from tests.e2e.conftest import DATABASE, Credentials

pytestmark = pytest.mark.e2e
PROGRAMME = "myrewards-e2e"
BUDGET = 100_000
BATMAN = {
    "username": "bwayne",
    "email": "bruce@wayneinc.com",
    "title": "Mr",
    "firstname": "Bruce",
    "lastname": "Wayne",
    "company": "Wayne Inc",
    "job_title": "CEO",
    "address_1": "Wayne Manor",
    "address_2": "1007 Mountain Drive",
    "town": "Gotham",
    "postcode": "G1 1BM",
    "county": "New Jersey",
    "country": "United States",
    "date_of_birth": "1980-02-19",
    "telephone": "+447876543210",
    "mobile": "+447765432101",
    "tsandcs": "true",
    "consented": "true",
    "user_group_id": "10",
    "registration_answers_attributes": [
        {"registration_question_id": "2", "answer": "Because I'm Batman"},
        {"registration_question_id": "16", "answer": "Alfred"},
    ],
}
CONFIGURATION = MyRewardsConfig.model_validate(
    {
        "programme_id": PROGRAMME,
        "identifier": "username",
        "required_fields": ["company"],
        "consent_required": True,
        "user_groups": [
            {"id": 10, "name": "justice league", "parent_id": 1, "default": True},
            {"id": 1, "name": "dc commics"},
        ],
        "registration_questions": [
            {
                "id": 2,
                "label": "Why?",
                "mandatory": True,
                "field_type": "text",
                "field_name": "why",
                "free_text": True,
            },
            {
                "id": 16,
                "label": "Butler",
                "field_type": "radio",
                "options": "Alfred Jarvis",
                "field_name": "butler",
                "position": 2,
            },
        ],
        "promotions": [{"id": 1, "name": "Autumn"}],
        "data_fields": [
            {
                "id": 196,
                "name": "Custom Data Field Date",
                "mandatory": True,
                "field_type": "date",
                "selector": "custom-date",
            },
            {
                "id": 197,
                "name": "Custom Data Field Text",
                "field_type": "free_text",
                "position": 2,
                "selector": "custom-text",
            },
            {
                "id": 198,
                "promotion_id": 1,
                "name": "Custom Data Field Date",
                "mandatory": True,
                "field_type": "date",
                "selector": "custom-date",
            },
            {
                "id": 199,
                "promotion_id": 1,
                "name": "Custom Data Field Text",
                "mandatory": True,
                "field_type": "free_text",
                "position": 2,
                "selector": "custom-text",
            },
            {
                "id": 200,
                "promotion_id": 1,
                "name": "Superpower",
                "field_type": "list_values",
                "answers": "Super-strengh\r\nFlight\r\nOther",
                "position": 3,
                "selector": "superpower",
            },
        ],
        "products": [
            {
                "id": 1,
                "product_or_activity": "Booking type 1",
                "name": "Booking",
                "points_per_unit": 10,
            },
            {
                "id": 2,
                "product_or_activity": "Booking type 2",
                "name": "Premium",
                "points_per_unit": 25,
            },
            {
                "id": 3,
                "promotion_id": 1,
                "product_or_activity": "Booking type 1",
                "name": "Booking in autumn",
                "points_per_unit": 20,
            },
            {
                "id": 4,
                "promotion_id": 1,
                "product_or_activity": "Autumn special",
                "name": "Autumn special",
                "points_per_unit": 7,
            },
            {
                "id": 5,
                "product_or_activity": "Big ticket",
                "name": "Big ticket",
                "points_per_unit": 1_000_000,
            },
            {"id": 6, "product_or_activity": "Leaflet", "name": "Leaflet", "points_per_unit": 0},
        ],
    }
)
USER_123 = """
INSERT INTO myrewards_users (user_id, programme_id, identity_key, username, email, firstname,
    lastname, company, tsandcs, consented, user_group_id)
VALUES (123, $1, 'user123', 'user123', 'user@example.com', 'Clark', 'Kent', 'Daily Planet', true,
    true, 10);
INSERT INTO myrewards_registration_answers (programme_id, user_id, question_id, answer)
VALUES ($1, 123, 2, 'Krypton');
"""


@dataclass(frozen=True)
class MyRewards:
    key: str
    database_url: str

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Token token={self.key}"}


@pytest.fixture(scope="module")
async def myrewards(system: tuple[LocalSettings, Credentials]) -> MyRewards:
    """A funded programme (its budget can run out: 412) with the seed's groups, questions,
    user 123, promotion 1 and data fields."""
    url = system[0].database_url(DATABASE)
    config = ProgrammeConfig.model_validate(
        {
            "programme_id": PROGRAMME,
            "version": 1,
            "budget": {"mode": "funded"},
            "partners": [{"partner_id": "myrewards-client"}],
        }
    )
    async with asyncpg.create_pool(url, min_size=1, max_size=2) as pool:
        await programmes.save(pool, config)
        key = await api_keys.create(pool, PROGRAMME, "myrewards-client", "production")
        await configuration.save(pool, CONFIGURATION)
        await configuration.save(pool, CONFIGURATION)  # loading again changes nothing
        async with pool.acquire() as conn:
            await conn.execute(USER_123.replace("$1", f"'{PROGRAMME}'"))
            await fund_budget(conn, PROGRAMME, BUDGET, f"fund-{uuid.uuid4().hex}")
    return MyRewards(key.secret, url)


async def new_user(gateway: httpx.AsyncClient, myrewards: MyRewards) -> int:
    body = {
        "username": f"u-{uuid.uuid4().hex[:10]}",
        "firstname": "Diana",
        "lastname": "Prince",
        "company": "Themyscira",
        "tsandcs": True,
        "consented": True,
        "registration_answers_attributes": [{"registration_question_id": 2, "answer": "Truth"}],
    }
    response = await gateway.post("/api/v2/users", json=body, headers=myrewards.auth())
    assert response.status_code == 201, response.text
    user_id: int = response.json()["id"]
    return user_id


def transaction(
    transaction_type: str, variety: str, points: object, **extra: Any
) -> dict[str, dict[str, Any]]:
    return {
        "transaction": {
            "transaction_type": transaction_type,
            "variety": variety,
            "points": points,
            "reason": "e2e",
            **extra,
        }
    }


async def post_transaction(
    gateway: httpx.AsyncClient,
    myrewards: MyRewards,
    user_id: int,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await gateway.post(
        f"/api/v1/users/{user_id}/transactions",
        json=body,
        headers={**myrewards.auth(), **(headers or {})},
    )


async def balance(gateway: httpx.AsyncClient, myrewards: MyRewards, user_id: int) -> int:
    last = await gateway.get(f"/api/v2/users/{user_id}/transactions/last", headers=myrewards.auth())
    assert last.status_code == 200, last.text
    found: int = last.json()["balance"]
    return found


# Authentication


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Token token=xxx"},
        {"Authorization": "Bearer lk_live_demo_local-only-not-a-secret"},
        {"X-API-Key": "lk_live_demo_local-only-not-a-secret"},
    ],
)
async def test_without_a_valid_token_the_answer_is_401_invalid_key(
    gateway: httpx.AsyncClient, myrewards: MyRewards, headers: dict[str, str]
) -> None:
    response = await gateway.get("/api/v2/user_groups", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized", "message": "invalid key"}


async def test_the_key_may_be_given_as_apikey_colon_secretkey(
    gateway: httpx.AsyncClient, myrewards: MyRewards
) -> None:
    prefix, rest = myrewards.key[:8], myrewards.key[8:]
    key_id, secret = rest.split("_", 1)
    headers = {"Authorization": f'TOKEN token="{prefix}{key_id}:{secret}"'}
    response = await gateway.get("/api/v2/user_groups", headers=headers)
    assert response.status_code == 200


async def test_another_programmes_key_does_not_see_the_programmes_users(
    gateway: httpx.AsyncClient, myrewards: MyRewards, credentials: Credentials
) -> None:
    other = {"Authorization": f"Token token={credentials.partner}"}
    read = await gateway.get("/api/v2/users/123/transactions", headers=other)
    assert read.status_code == 404
    booking = await gateway.post(
        "/api/v1/users/123/transactions",
        json=transaction("Credit", "Programme Points", 5),
        headers=other,
    )
    assert booking.status_code == 204


# Points transactions


async def test_the_seeds_transaction_example_credits_user_123(
    gateway: httpx.AsyncClient, myrewards: MyRewards
) -> None:
    response = await gateway.post(
        "/api/v1/users/123/transactions",
        content=(
            b'{"transaction":  {"transaction_type": "Credit", "variety": "Programme Points", '
            b'"points": 100, "reason": "Employee of the month"}}'
        ),
        headers={**myrewards.auth(), "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"id"}
    transaction_id = response.json()["id"]
    listed = await gateway.get("/api/v2/users/123/transactions", headers=myrewards.auth())
    assert listed.status_code == 200
    mine = [item for item in listed.json() if item["id"] == transaction_id]
    assert len(mine) == 1
    assert mine[0]["user_id"] == 123
    assert mine[0]["description"] == "Employee of the month"
    assert mine[0]["value"] == 100
    assert mine[0]["transaction_type"] == "programme points"
    assert mine[0]["remote_transaction_id"] is None
    assert set(mine[0]) == {
        "id",
        "user_id",
        "description",
        "value",
        "balance",
        "transaction_type",
        "remote_transaction_id",
        "created_at",
    }


async def test_html_form_data_books_like_json(
    gateway: httpx.AsyncClient, myrewards: MyRewards
) -> None:
    user_id = await new_user(gateway, myrewards)
    form = {
        "transaction[transaction_type]": "Credit",
        "transaction[variety]": "Programme Points",
        "transaction[points]": "40",
        "transaction[reason]": "Employee of the month",
        "transaction[remote_transaction_id]": "your_id_here",
    }
    response = await gateway.post(
        f"/api/v1/users/{user_id}/transactions", data=form, headers=myrewards.auth()
    )
    assert response.status_code == 200, response.text
    last = await gateway.get(f"/api/v2/users/{user_id}/transactions/last", headers=myrewards.auth())
    assert last.json()["id"] == response.json()["id"]
    assert last.json()["balance"] == 40
    assert last.json()["remote_transaction_id"] == "your_id_here"


async def test_transactions_are_listed_most_recent_last_with_running_balance(
    gateway: httpx.AsyncClient, myrewards: MyRewards
) -> None:
    user_id = await new_user(gateway, myrewards)
    for body in (
        transaction("Credit", "Programme Points", 100),
        transaction("Debit", "Redemption", 30),
        transaction("Credit", "Order Cancelation", 10),
    ):
        assert (await post_transaction(gateway, myrewards, user_id, body)).status_code == 200
    listed = await gateway.get(f"/api/v2/users/{user_id}/transactions", headers=myrewards.auth())
    assert [(item["value"], item["balance"]) for item in listed.json()] == [
        (100, 100),
        (-30, 70),
        (10, 80),
    ]
    assert [item["transaction_type"] for item in listed.json()] == [
        "programme points",
        "redemption",
        "order cancelation",
    ]
    assert await balance(gateway, myrewards, user_id) == 80


async def test_a_debit_beyond_the_users_points_is_402(
    gateway: httpx.AsyncClient, myrewards: MyRewards
) -> None:
    user_id = await new_user(gateway, myrewards)
    credit = await post_transaction(
        gateway, myrewards, user_id, transaction("Credit", "Adjustment", 5)
    )
    assert credit.status_code == 200, credit.text
    response = await post_transaction(
        gateway, myrewards, user_id, transaction("Debit", "Redemption", 6)
    )
    assert response.status_code == 402
    assert response.json()["error"] == "insufficient_points"
    assert await balance(gateway, myrewards, user_id) == 5


async def test_a_credit_beyond_the_programmes_points_is_412(
    gateway: httpx.AsyncClient, myrewards: MyRewards
) -> None:
    user_id = await new_user(gateway, myrewards)
    response = await post_transaction(
        gateway, myrewards, user_id, transaction("Credit", "Programme Points", BUDGET * 10)
    )
    assert response.status_code == 412
    assert response.json()["error"] == "programme_budget_exhausted"


@pytest.mark.parametrize(
    ("transaction_type", "variety"),
    [("Credit", "Redemption"), ("Debit", "Order Cancelation"), ("Credit", "Account Closure")],
)
async def test_a_variety_that_does_not_permit_the_type_is_406(
    gateway: httpx.AsyncClient, myrewards: MyRewards, transaction_type: str, variety: str
) -> None:
    response = await post_transaction(
        gateway, myrewards, 123, transaction(transaction_type, variety, 1)
    )
    assert response.status_code == 406
    assert response.json()["error"] == "invalid_transaction"


async def test_an_unknown_user_is_204(gateway: httpx.AsyncClient, myrewards: MyRewards) -> None:
    response = await post_transaction(
        gateway, myrewards, 999_999_999, transaction("Credit", "Programme Points", 1)
    )
    assert response.status_code == 204
    assert response.content == b""


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"transaction": {"transaction_type": "Credit", "variety": "Programme Points"}},
        transaction("Credit", "Programme Points", 0),
        transaction("Credit", "Programme Points", -5),
        transaction("Credit", "Programme Points", True),
        transaction("Credit", "Programme Points", " 5"),
        transaction("Credit", "Adjustment", 1, reason="a\x00"),
        transaction("Refund", "Programme Points", 1),
        transaction("Credit", "Bonus", 1),
        {"transaction": {**transaction("Credit", "Adjustment", 1)["transaction"], "reason": ""}},
        {
            "transaction": {
                **transaction("Credit", "Adjustment", 1)["transaction"],
                "reason": "x" * 251,
            }
        },
    ],
)
async def test_a_malformed_transaction_is_400(
    gateway: httpx.AsyncClient, myrewards: MyRewards, body: dict[str, Any]
) -> None:
    response = await post_transaction(gateway, myrewards, 123, body)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_a_retry_with_the_same_idempotency_key_books_once(
    gateway: httpx.AsyncClient, myrewards: MyRewards
) -> None:
    user_id = await new_user(gateway, myrewards)
    headers = {"Idempotency-Key": f"payroll-{uuid.uuid4().hex}"}
    body = transaction("Credit", "Programme Points", 25)
    answers = await asyncio.gather(
        *(post_transaction(gateway, myrewards, user_id, body, headers) for _ in range(6))
    )
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.json()["id"] for answer in answers}) == 1
    again = await post_transaction(gateway, myrewards, user_id, body, headers)
    assert again.json() == answers[0].json()
    assert await balance(gateway, myrewards, user_id) == 25
    # The same key for another transaction is a conflict, and books nothing.
    reused = await post_transaction(
        gateway, myrewards, user_id, transaction("Credit", "Programme Points", 26), headers
    )
    assert reused.status_code == 409
    assert reused.json()["error"] == "idempotency_conflict"
    assert await balance(gateway, myrewards, user_id) == 25
    # Without the header, the same body is a new transaction (MyRewards' behaviour).
    other = await post_transaction(gateway, myrewards, user_id, body)
    assert other.json()["id"] != answers[0].json()["id"]
    assert await balance(gateway, myrewards, user_id) == 50


async def test_a_person_to_person_transfer_moves_points_between_two_users(
    gateway: httpx.AsyncClient, myrewards: MyRewards
) -> None:
    giver, receiver = await new_user(gateway, myrewards), await new_user(gateway, myrewards)
    credit = await post_transaction(
        gateway, myrewards, giver, transaction("Credit", "Adjustment", 50)
    )
    assert credit.status_code == 200, credit.text
    response = await post_transaction(
        gateway,
        myrewards,
        giver,
        transaction("Debit", "Person 2 Person Transfer", 20, counterparty_user_id=receiver),
    )
    assert response.status_code == 200, response.text
    assert await balance(gateway, myrewards, giver) == 30
    assert await balance(gateway, myrewards, receiver) == 20
    alone = await post_transaction(
        gateway, myrewards, giver, transaction("Debit", "Person 2 Person Transfer", 1)
    )
    assert alone.status_code == 406
    stranger = await post_transaction(
        gateway,
        myrewards,
        giver,
        transaction("Debit", "Person 2 Person Transfer", 1, counterparty_user_id=999_999_999),
    )
    assert stranger.status_code == 406


async def test_reads_of_an_unknown_user_are_404(
    gateway: httpx.AsyncClient, myrewards: MyRewards
) -> None:
    for path in (
        "/api/v2/users/999999999/transactions",
        "/api/v2/users/999999999/transactions/last",
    ):
        response = await gateway.get(path, headers=myrewards.auth())
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"


# Users, groups and registration questions


async def test_the_seeds_create_user_example_creates_bruce_wayne(
    gateway: httpx.AsyncClient, myrewards: MyRewards
) -> None:
    response = await gateway.post("/api/v2/users", json=BATMAN, headers=myrewards.auth())
    assert response.status_code == 201, response.text
    created = response.json()
    assert isinstance(created["id"], int)
    assert created["username"] == "bwayne"
    assert created["date_of_birth"] == "1980-02-19"
    assert created["tsandcs"] is True
    assert created["user_group_id"] == 10
    assert created["registration_answers_attributes"] == [
        {"registration_question_id": 2, "answer": "Because I'm Batman"},
        {"registration_question_id": 16, "answer": "Alfred"},
    ]
    # Null: this module stores its programme without publishing it on config.v1, which the
    # gateway reads configurations from (the tier's fields: tests/e2e/console/test_lifecycle_lists)
    assert created["tier"] is None
    read = await gateway.get(f"/api/v2/users/{created['id']}", headers=myrewards.auth())
    assert read.status_code == 200, read.text
    assert read.json() == created
    missing = await gateway.get("/api/v2/users/999999999", headers=myrewards.auth())
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    again = await gateway.post("/api/v2/users", json=BATMAN, headers=myrewards.auth())
    assert again.status_code == 409
    # He is a user now: points can be booked for him.
    booked = await post_transaction(
        gateway, myrewards, created["id"], transaction("Credit", "Programme Points", 7)
    )
    assert booked.status_code == 200


async def test_the_seeds_update_example_renames_user_123(
    gateway: httpx.AsyncClient, myrewards: MyRewards
) -> None:
    for method in ("PUT", "PATCH"):
        response = await gateway.request(
            method,
            "/api/v2/users/123",
            json={"firstname": "Joker", "lastname": "Hahaha"},
            headers=myrewards.auth(),
        )
        assert response.status_code == 200, response.text
        assert response.json()["firstname"] == "Joker"
        assert response.json()["lastname"] == "Hahaha"
        assert response.json()["username"] == "user123"
        assert response.json()["company"] == "Daily Planet"
    unknown = await gateway.put(
        "/api/v2/users/999999999", json={"firstname": "X"}, headers=myrewards.auth()
    )
    assert unknown.status_code == 404


async def test_a_user_can_be_created_from_html_form_data(
    gateway: httpx.AsyncClient, myrewards: MyRewards
) -> None:
    form = {
        "username": f"u-{uuid.uuid4().hex[:10]}",
        "firstname": "Barry",
        "lastname": "Allen",
        "company": "CCPD",
        "tsandcs": "true",
        "consented": "1",
        "registration_answers_attributes[][registration_question_id]": "2",
        "registration_answers_attributes[][answer]": "Speed",
    }
    response = await gateway.post("/api/v2/users", data=form, headers=myrewards.auth())
    assert response.status_code == 201, response.text
    assert response.json()["user_group_id"] == 10  # the programme's default group
    assert response.json()["registration_answers_attributes"] == [
        {"registration_question_id": 2, "answer": "Speed"}
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"firstname": None}, "firstname"),
        ({"company": None}, "company"),
        ({"username": None}, "username"),
        ({"consented": None}, "consented"),
        ({"tsandcs": "false"}, "tsandcs"),
        ({"registration_answers_attributes": []}, "Why?"),
        (
            {
                "registration_answers_attributes": [
                    {"registration_question_id": 2, "answer": "x"},
                    {"registration_question_id": 16, "answer": "Robin"},
                ]
            },
            "one of",
        ),
        ({"user_group_id": 999_999}, "user_group_id"),
        ({"mobile": "07765432101"}, "international"),
        ({"date_of_birth": "19/02/1980"}, "YYYY-MM-DD"),
        ({"email": "not-an-email"}, "email"),
    ],
)
async def test_a_user_missing_the_programmes_requirements_is_refused_with_400(
    gateway: httpx.AsyncClient, myrewards: MyRewards, change: dict[str, Any], expected: str
) -> None:
    body = {**BATMAN, "username": f"u-{uuid.uuid4().hex[:10]}"}
    body.update(change)
    body = {name: value for name, value in body.items() if value is not None}
    response = await gateway.post("/api/v2/users", json=body, headers=myrewards.auth())
    assert response.status_code == 400, response.text
    assert expected in response.json()["message"]


async def test_user_groups_and_registration_questions_are_the_programmes(
    gateway: httpx.AsyncClient, myrewards: MyRewards, credentials: Credentials
) -> None:
    for path in ("/api/v2/user_groups", "/api/v2/user_group"):
        groups = await gateway.get(path, headers=myrewards.auth())
        assert groups.status_code == 200
        assert groups.json() == [
            {"id": 1, "name": "dc commics", "parent_id": None, "default": False, "position": 1},
            {"id": 10, "name": "justice league", "parent_id": 1, "default": True, "position": 1},
        ]
    questions = await gateway.get("/api/v2/registration_questions", headers=myrewards.auth())
    assert questions.status_code == 200
    assert questions.json()[1] == {
        "id": 16,
        "label": "Butler",
        "mandatory": False,
        "field_type": "radio",
        "options": "Alfred Jarvis",
        "field_name": "butler",
        "free_text": False,
    }
    other = {"Authorization": f"Token token={credentials.partner}"}
    assert (await gateway.get("/api/v2/user_groups", headers=other)).json() == []


# Performance data


async def test_data_fields_of_the_programme_and_of_a_promotion(
    gateway: httpx.AsyncClient, myrewards: MyRewards
) -> None:
    fields = await gateway.get("/api/v2/performance/data_fields", headers=myrewards.auth())
    assert fields.status_code == 200
    assert [field["id"] for field in fields.json()] == [196, 197]
    assert "promotion_id" not in fields.json()[0]
    assert fields.json()[1]["answers"] is None
    assert set(fields.json()[0]) == {
        "id",
        "name",
        "mandatory",
        "field_type",
        "answers",
        "created_at",
        "updated_at",
        "position",
        "selector",
    }
    assert fields.json()[0]["selector"] == "custom-date"
    promoted = await gateway.get(
        "/api/v2/performance/promotions/1/data_fields", headers=myrewards.auth()
    )
    assert promoted.status_code == 200
    assert [field["promotion_id"] for field in promoted.json()] == [1, 1, 1]
    assert promoted.json()[2]["answers"] == "Super-strengh\r\nFlight\r\nOther"
    unknown = await gateway.get(
        "/api/v2/performance/promotions/424242/data_fields", headers=myrewards.auth()
    )
    assert unknown.status_code == 404


CLAIM = {
    "date_of_sale": "2016-10-01",
    "product_or_activity": "Booking type 1",
    "quantity": 1,
    "username": "user@example.com",
    "Custom Data Field Date": "2016-10-01",
    "Custom Data Field Text": "DV1",
}


async def claims_count(myrewards: MyRewards) -> int:
    connection = await asyncpg.connect(myrewards.database_url)
    try:
        found: int = await connection.fetchval(
            "SELECT count(*) FROM myrewards_claims WHERE programme_id = $1", PROGRAMME
        )
        return found
    finally:
        await connection.close()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v2/performance/data", {"data": [CLAIM]}),
        ("/api/v2/performance/data", {"promotion_id": 1, "data": [CLAIM]}),
        ("/api/v2/performance/promotions/1/data", {"promotion_id": 1, "data": [CLAIM]}),
        ("/api/v2/performance/promotions/1/data", {"data": [CLAIM]}),
    ],
)
async def test_the_seeds_sales_data_examples_are_created(
    gateway: httpx.AsyncClient, myrewards: MyRewards, path: str, body: dict[str, Any]
) -> None:
    before = await claims_count(myrewards)
    response = await gateway.post(path, json=body, headers=myrewards.auth())
    assert response.status_code == 201, response.text
    assert await claims_count(myrewards) == before + 1


@pytest.mark.parametrize(
    "bad",
    [
        {"Custom Data Field Date": "01/10/2016"},
        {"Custom Data Field Date": None},
        {"Unknown Field": "x"},
        {"username": "nobody@example.com"},
        {"quantity": 0},
        {"date_of_sale": "yesterday"},
        {"product_or_activity": "Unknown product"},
        {"product_or_activity": "Autumn special"},
        {"Custom Data Field Text": 10**30},
    ],
)
async def test_one_invalid_claim_refuses_them_all(
    gateway: httpx.AsyncClient, myrewards: MyRewards, bad: dict[str, Any]
) -> None:
    invalid = {name: value for name, value in {**CLAIM, **bad}.items() if value is not None}
    before = await claims_count(myrewards)
    response = await gateway.post(
        "/api/v2/performance/data", json={"data": [CLAIM, invalid]}, headers=myrewards.auth()
    )
    assert response.status_code == 400, response.text
    assert await claims_count(myrewards) == before


async def test_claims_for_an_unknown_promotion_are_404(
    gateway: httpx.AsyncClient, myrewards: MyRewards
) -> None:
    for claim in (CLAIM, {**CLAIM, "Custom Data Field Text": [10**30]}):
        response = await gateway.post(
            "/api/v2/performance/promotions/424242/data",
            json={"data": [claim]},
            headers=myrewards.auth(),
        )
        assert response.status_code == 404


async def test_claims_name_their_users_by_id_username_or_email_in_any_case(
    gateway: httpx.AsyncClient, myrewards: MyRewards
) -> None:
    by_id = {**{name: value for name, value in CLAIM.items() if name != "username"}, "user_id": 123}
    data = [
        by_id,
        CLAIM,
        {**CLAIM, "username": "USER@Example.com"},
        {**CLAIM, "username": "user123"},
    ]
    before = await claims_count(myrewards)
    response = await gateway.post(
        "/api/v2/performance/data", json={"data": data}, headers=myrewards.auth()
    )
    assert response.status_code == 201, response.text
    assert await claims_count(myrewards) == before + 4


@pytest.mark.parametrize(
    ("claimant", "message"),
    [
        ({"user_id": 424242}, "data[2]: user 424242 is unknown in this programme"),
        ({"username": "nobody"}, "data[2]: user 'nobody' is unknown in this programme"),
    ],
)
async def test_an_unknown_claimant_is_refused_naming_its_claim(
    gateway: httpx.AsyncClient, myrewards: MyRewards, claimant: dict[str, Any], message: str
) -> None:
    unknown = {**{name: value for name, value in CLAIM.items() if name != "username"}, **claimant}
    before = await claims_count(myrewards)
    response = await gateway.post(
        "/api/v2/performance/data",
        json={"data": [CLAIM, CLAIM, unknown, {**CLAIM, "user_id": 424243}]},
        headers=myrewards.auth(),
    )
    assert response.status_code == 400, response.text
    assert response.json() == {"error": "invalid_request", "message": message}
    assert await claims_count(myrewards) == before


# Sales claims earn points


def claim_for(user_id: int, product: str = "Booking type 1", quantity: int = 1) -> dict[str, Any]:
    return {
        "date_of_sale": "2016-10-01",
        "product_or_activity": product,
        "quantity": quantity,
        "user_id": user_id,
        "Custom Data Field Date": "2016-10-01",
    }


async def post_claims(
    gateway: httpx.AsyncClient,
    myrewards: MyRewards,
    data: list[dict[str, Any]],
    headers: dict[str, str] | None = None,
    path: str = "/api/v2/performance/data",
) -> httpx.Response:
    return await gateway.post(
        path, json={"data": data}, headers={**myrewards.auth(), **(headers or {})}
    )


async def listed_claims(
    gateway: httpx.AsyncClient, auth: dict[str, str], **params: Any
) -> dict[str, Any]:
    response = await gateway.get("/api/v2/performance/data", params=params, headers=auth)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def transactions_of(
    gateway: httpx.AsyncClient, myrewards: MyRewards, user_id: int
) -> list[dict[str, Any]]:
    listed = await gateway.get(f"/api/v2/users/{user_id}/transactions", headers=myrewards.auth())
    assert listed.status_code == 200, listed.text
    found: list[dict[str, Any]] = listed.json()
    return found


async def test_claims_for_two_users_are_booked_in_one_request(
    gateway: httpx.AsyncClient, myrewards: MyRewards
) -> None:
    ann, ben = await new_user(gateway, myrewards), await new_user(gateway, myrewards)
    response = await post_claims(
        gateway,
        myrewards,
        [claim_for(ann, quantity=2), claim_for(ben, "Booking type 2"), claim_for(ann, "Leaflet")],
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["status"], created["claims"], created["points"]) == ("booked", 3, 45)
    assert await balance(gateway, myrewards, ann) == 20
    assert await balance(gateway, myrewards, ben) == 25
    [entry] = await transactions_of(gateway, myrewards, ann)  # the leaflet booked nothing
    assert (entry["value"], entry["transaction_type"]) == (20, "programme points")
    assert entry["description"] == "Sales claim 2016-10-01: 2 x Booking type 1"
    listed = await listed_claims(gateway, myrewards.auth(), numOfItems=1000)
    mine = [claim for claim in listed["data"] if claim["reference"] == created["reference"]]
    assert [(c["user_id"], c["product_or_activity"], c["points"]) for c in mine] == [
        (ann, "Booking type 1", 20),
        (ben, "Booking type 2", 25),
        (ann, "Leaflet", 0),
    ]
    assert mine[0]["custom_fields"] == {"Custom Data Field Date": "2016-10-01"}
    assert {claim["status"] for claim in mine} == {"booked"}
    assert set(mine[0]) == {
        "id",
        "user_id",
        "product_or_activity",
        "product_id",
        "quantity",
        "points",
        "promotion_id",
        "date_of_sale",
        "custom_fields",
        "status",
        "reference",
        "created_at",
    }


async def test_a_promotions_products_earn_with_that_promotion(
    gateway: httpx.AsyncClient, myrewards: MyRewards
) -> None:
    user_id = await new_user(gateway, myrewards)
    promoted = {"Custom Data Field Text": "DV1"}
    data = [claim_for(user_id) | promoted, claim_for(user_id, "Autumn special") | promoted]
    response = await post_claims(
        gateway, myrewards, data, path="/api/v2/performance/promotions/1/data"
    )
    assert response.status_code == 201, response.text
    assert response.json()["points"] == 27  # the promotion's 20 for Booking type 1, and 7
    assert await balance(gateway, myrewards, user_id) == 27
    refused = await post_claims(gateway, myrewards, [claim_for(user_id, "Autumn special")])
    assert refused.status_code == 400
    assert refused.json()["message"] == (
        "data[0]: product 'Autumn special' is claimable only with promotion 1"
    )


async def test_one_invalid_claim_books_nothing_for_anyone(
    gateway: httpx.AsyncClient, myrewards: MyRewards
) -> None:
    ann, ben = await new_user(gateway, myrewards), await new_user(gateway, myrewards)
    before = await claims_count(myrewards)
    response = await post_claims(
        gateway, myrewards, [claim_for(ann), claim_for(ben, "No such product")]
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "message": "data[1]: 'No such product' is not a product of this programme",
    }
    assert await claims_count(myrewards) == before
    for user_id in (ann, ben):
        assert await transactions_of(gateway, myrewards, user_id) == []


async def test_a_budget_too_short_for_one_claim_refuses_all_with_412(
    gateway: httpx.AsyncClient, myrewards: MyRewards
) -> None:
    ann, ben = await new_user(gateway, myrewards), await new_user(gateway, myrewards)
    before = await claims_count(myrewards)
    total_before = (await listed_claims(gateway, myrewards.auth()))["totalCount"]
    response = await post_claims(gateway, myrewards, [claim_for(ann), claim_for(ben, "Big ticket")])
    assert response.status_code == 412, response.text
    assert response.json() == {
        "error": "programme_budget_exhausted",
        "message": "Programme does not have enough points",
    }
    for user_id in (ann, ben):
        assert await transactions_of(gateway, myrewards, user_id) == []
    assert await claims_count(myrewards) == before
    assert (await listed_claims(gateway, myrewards.auth()))["totalCount"] == total_before
    pending = await listed_claims(gateway, myrewards.auth(), status="pending")
    assert pending["data"] == []


async def test_a_claims_retry_with_the_same_idempotency_key_books_once(
    gateway: httpx.AsyncClient, myrewards: MyRewards
) -> None:
    ann, ben = await new_user(gateway, myrewards), await new_user(gateway, myrewards)
    data = [claim_for(ann), claim_for(ben, quantity=3)]
    headers = {"Idempotency-Key": f"sales-{uuid.uuid4().hex}"}
    answers = await asyncio.gather(
        *(post_claims(gateway, myrewards, data, headers) for _ in range(4))
    )
    assert {answer.status_code for answer in answers} == {201}, [a.text for a in answers]
    assert len({answer.json()["reference"] for answer in answers}) == 1
    again = await post_claims(gateway, myrewards, data, headers)
    assert again.json() == answers[0].json()
    assert (await balance(gateway, myrewards, ann), await balance(gateway, myrewards, ben)) == (
        10,
        30,
    )
    reference = answers[0].json()["reference"]
    listed = await listed_claims(gateway, myrewards.auth(), numOfItems=1000)
    assert len([c for c in listed["data"] if c["reference"] == reference]) == 2
    # The same key with other claims is a conflict, and books nothing.
    reused = await post_claims(gateway, myrewards, [claim_for(ann, quantity=2)], headers)
    assert reused.status_code == 409
    assert reused.json()["error"] == "idempotency_conflict"
    assert await balance(gateway, myrewards, ann) == 10
    # Without the header, the same claims are new claims.
    fresh = await post_claims(gateway, myrewards, data)
    assert fresh.status_code == 201
    assert fresh.json()["reference"] != reference
    assert await balance(gateway, myrewards, ann) == 20


async def test_a_request_of_a_thousand_claims_is_one_command(
    gateway: httpx.AsyncClient, myrewards: MyRewards
) -> None:
    """The most claims a request takes (1,000) fit one ledger command and one Kafka record."""
    users = [await new_user(gateway, myrewards) for _ in range(4)]
    data = [
        claim_for(users[index % 4]) | {"Custom Data Field Text": "x" * 200} for index in range(1000)
    ]
    response = await post_claims(gateway, myrewards, data)
    assert response.status_code == 201, response.text
    assert (response.json()["claims"], response.json()["points"]) == (1000, 10_000)
    for user_id in users:
        assert await balance(gateway, myrewards, user_id) == 2_500
        assert len(await transactions_of(gateway, myrewards, user_id)) == 250


async def test_claims_are_listed_in_pages_and_only_to_their_programme(
    gateway: httpx.AsyncClient, myrewards: MyRewards, credentials: Credentials
) -> None:
    user_id = await new_user(gateway, myrewards)
    response = await post_claims(
        gateway, myrewards, [claim_for(user_id, quantity=q) for q in (1, 2, 3)]
    )
    assert response.status_code == 201, response.text
    reference = response.json()["reference"]
    total = (await listed_claims(gateway, myrewards.auth(), numOfItems=1))["totalCount"]
    assert total >= 3
    # Oldest first: this request's claims are the last three, in their order.
    tail = await listed_claims(gateway, myrewards.auth(), page=total - 2, numOfItems=1)
    assert tail["data"][0]["quantity"] == 1
    last = await listed_claims(gateway, myrewards.auth(), page=total, numOfItems=1)
    assert (last["data"][0]["reference"], last["data"][0]["quantity"]) == (reference, 3)
    # Pages of any size list the same claims, in id order.
    by_size = {
        size: [
            claim
            for page in range(1, -(-total // size) + 1)
            for claim in (
                await listed_claims(gateway, myrewards.auth(), page=page, numOfItems=size)
            )["data"]
        ]
        for size in (1000, 97)
    }
    assert by_size[1000] == by_size[97]
    assert len(by_size[1000]) == total
    assert [claim["id"] for claim in by_size[1000]] == sorted(c["id"] for c in by_size[1000])
    other = {"Authorization": f"Token token={credentials.partner}"}
    theirs = await listed_claims(gateway, other, numOfItems=1000)
    assert reference not in {claim["reference"] for claim in theirs["data"]}
    beyond = await listed_claims(gateway, myrewards.auth(), page=total + 1, numOfItems=1)
    assert (beyond["data"], beyond["totalCount"]) == ([], total)
    for bad in ({"page": 0}, {"numOfItems": 0}, {"numOfItems": 1001}, {"status": "rejected"}):
        response = await gateway.get(
            "/api/v2/performance/data", params=bad, headers=myrewards.auth()
        )
        assert response.status_code == 400, bad


async def test_two_programmes_load_files_with_the_same_ids(
    gateway: httpx.AsyncClient, myrewards: MyRewards
) -> None:
    twin = f"myrewards-twin-{uuid.uuid4().hex[:8]}"
    config = ProgrammeConfig.model_validate(
        {"programme_id": twin, "version": 1, "partners": [{"partner_id": "twin-client"}]}
    )
    same_ids = CONFIGURATION.model_copy(update={"programme_id": twin})
    async with asyncpg.create_pool(myrewards.database_url, min_size=1, max_size=2) as pool:
        await programmes.save(pool, config)
        key = await api_keys.create(pool, twin, "twin-client", "production")
        await configuration.save(pool, same_ids)
        await configuration.save(pool, CONFIGURATION)  # the first programme's, again
    auth = {"Authorization": f"Token token={key.secret}"}
    for headers in (auth, myrewards.auth()):
        groups = await gateway.get("/api/v2/user_groups", headers=headers)
        assert [group["id"] for group in groups.json()] == [1, 10]
        fields = await gateway.get("/api/v2/performance/promotions/1/data_fields", headers=headers)
        assert [field["id"] for field in fields.json()] == [198, 199, 200]
    user = await gateway.post(
        "/api/v2/users",
        json={**BATMAN, "user_group_id": 10},
        headers=auth,
    )
    assert user.status_code == 201, user.text
    claim = {**CLAIM, "username": "bwayne", "Custom Data Field Text": "DV1"}
    response = await gateway.post(
        "/api/v2/performance/promotions/1/data", json={"data": [claim]}, headers=auth
    )
    assert response.status_code == 201, response.text
    listed = await listed_claims(gateway, auth)
    assert [(c["user_id"], c["points"], c["promotion_id"]) for c in listed["data"]] == [
        (user.json()["id"], 20, 1)
    ]


async def test_the_seeds_claim_earns_in_the_demo_programme(
    gateway: httpx.AsyncClient, credentials: Credentials
) -> None:
    """deploy/programmes/myrewards/demo.yaml, loaded by seed-demo, takes the seed's examples."""
    demo = {"Authorization": f"Token token={credentials.demo}"}
    email = f"user-{uuid.uuid4().hex[:8]}@example.com"
    user = await gateway.post(
        "/api/v2/users",
        json={"email": email, "firstname": "Clark", "lastname": "Kent", "company": "Planet",
              "tsandcs": "true"},
        headers=demo,
    )  # fmt: skip
    assert user.status_code == 201, user.text
    assert user.json()["user_group_id"] == 2  # the file's default group
    seeds_claim = {**CLAIM, "username": email}
    for path, points in (
        ("/api/v2/performance/data", 10),
        ("/api/v2/performance/promotions/1/data", 20),
    ):
        response = await gateway.post(path, json={"data": [seeds_claim]}, headers=demo)
        assert response.status_code == 201, response.text
        assert response.json()["points"] == points
    last = await gateway.get(f"/api/v2/users/{user.json()['id']}/transactions/last", headers=demo)
    assert last.json()["balance"] == 30


# Generated requests, with a valid key (the suite-wide fuzz test sends none that MyRewards reads).
# Last in the module: they may change user 123, whom the tests above read.


@pytest.fixture
def myrewards_schema(system: tuple[LocalSettings, Credentials]) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"http://127.0.0.1:{system[0].gateway_port}/openapi.json")


generated = schemathesis.pytest.from_fixture("myrewards_schema").include(tag="MyRewards")


@generated.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_generated_myrewards_requests(
    case: Case[Any], system: tuple[LocalSettings, Credentials], myrewards: MyRewards
) -> None:
    case.call_and_validate(
        base_url=f"http://127.0.0.1:{system[0].gateway_port}",
        headers=myrewards.auth(),
        checks=[not_a_server_error, negative_data_rejection, status_code_conformance],
    )

"""MyRewards users apart from HTTP and Postgres (`gateway.myrewards.users`): created, read and
updated against the programme's registration rules through an in-memory `UserAccounts`
(tests/unit/gateway/myrewards/fakes.py) whose transaction keeps nothing of a refused change, and
shown with their tier from an in-memory ledger. The real routes and store:
tests/e2e/test_myrewards.py."""

from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.errors import ApiError
from gateway.myrewards import users
from gateway.myrewards.models import UserFields, UserOut
from gateway.myrewards.registration import Catalogue, Question, RegistrationPolicy
from ledger.reads import TierAssignment
from schemas.programme import ProgrammeConfig
from tests.unit.gateway.ledger_fakes import FakeUserLedger
from tests.unit.gateway.myrewards.fakes import FakeUserAccounts

AT = datetime(2026, 12, 4, 12, tzinfo=UTC)
RULES = Catalogue(
    questions={
        1: Question(1, "Why?", True, "text", None, False),
        2: Question(2, "Colour", False, "radio", "red\nblue", False),
    },
    group_ids=frozenset({10, 11}),
    default_group_id=10,
)
ANSWER_WHY = {"registration_question_id": 1, "answer": "because"}


def fields(**given: Any) -> UserFields:
    return UserFields.model_validate(given)


def person(email: str = "Ann@Example.com", **more: Any) -> UserFields:
    given = {"email": email, "firstname": "Ann", "lastname": "Lee", "tsandcs": True,
             "registration_answers_attributes": [ANSWER_WHY]}  # fmt: skip
    return fields(**(given | more))


def answers(user: UserOut) -> list[tuple[int, str]]:
    return [(a.registration_question_id, a.answer) for a in user.registration_answers_attributes]


def accounts() -> FakeUserAccounts:
    return FakeUserAccounts("shop", RegistrationPolicy(identifier="email"), RULES)


def refused(raised: pytest.ExceptionInfo[ApiError]) -> tuple[int, str]:
    return raised.value.status, raised.value.code


async def test_a_user_is_created_in_the_default_group_with_their_answers() -> None:
    found = accounts()
    made = await users.create_user(found, "shop", person(company="Acme"))
    assert (made.email, made.company, made.user_group_id) == ("Ann@example.com", "Acme", 10)
    assert answers(made) == [(1, "because")]
    assert await users.find_user(found, "shop", made.id) == made


@pytest.mark.parametrize(
    ("request_", "problem"),
    [
        (fields(email="a@example.com", firstname="A", tsandcs=True), "required by the programme"),
        (person(tsandcs=False), "tsandcs"),
        (person(user_group_id=12), "no user group 12"),
        (fields(email="a@example.com", firstname="A", lastname="B", tsandcs=True),
         "registration questions to answer: Why?"),
        (person(registration_answers_attributes=[
            ANSWER_WHY, {"registration_question_id": 2, "answer": "green"}]), "must be one of"),
    ],
)  # fmt: skip
async def test_a_user_the_programmes_rules_refuse_is_invalid_and_not_stored(
    request_: UserFields, problem: str
) -> None:
    found = accounts()
    with pytest.raises(ApiError) as raised:
        await users.create_user(found, "shop", request_)
    assert refused(raised) == (400, "invalid_request")
    assert problem in raised.value.message
    assert found.users == {}


async def test_an_identifier_taken_in_the_programme_is_a_conflict_whatever_its_case() -> None:
    found = accounts()
    await users.create_user(found, "shop", person())
    with pytest.raises(ApiError) as raised:
        await users.create_user(found, "shop", person("ann@example.COM"))
    assert refused(raised) == (409, "conflict")
    assert "email" in raised.value.message
    assert len(found.users) == 1


async def test_an_update_changes_only_the_fields_given_and_answers_per_question() -> None:
    found = accounts()
    made = await users.create_user(found, "shop", person(company="Acme"))
    colour = {"registration_question_id": 2, "answer": "blue"}
    updated = await users.update_user(
        found, "shop", made.id, fields(company="Wayne", registration_answers_attributes=[colour])
    )
    assert (updated.company, updated.email, updated.firstname) == ("Wayne", made.email, "Ann")
    assert answers(updated) == [(1, "because"), (2, "blue")]
    assert await users.find_user(found, "shop", made.id) == updated


async def test_an_update_the_rules_refuse_or_to_a_taken_identifier_changes_nothing() -> None:
    found = accounts()
    ann = await users.create_user(found, "shop", person())
    ben = await users.create_user(found, "shop", person("ben@example.com"))
    with pytest.raises(ApiError) as raised:
        await users.update_user(found, "shop", ben.id, fields(email="ANN@example.com"))
    assert refused(raised) == (409, "conflict")
    with pytest.raises(ApiError) as raised:
        await users.update_user(found, "shop", ben.id, fields(company="X", tsandcs=False))
    assert refused(raised) == (400, "invalid_request")
    assert await users.find_user(found, "shop", ben.id) == ben
    assert await users.find_user(found, "shop", ann.id) == ann


async def test_a_user_unknown_in_the_programme_is_not_found() -> None:
    found = accounts()
    made = await users.create_user(found, "shop", person())
    for read in (
        users.find_user(found, "other", made.id),
        users.find_user(found, "shop", made.id + 1),
        users.update_user(found, "shop", made.id + 1, fields(company="X")),
    ):
        with pytest.raises(ApiError) as raised:
            await read
        assert refused(raised) == (404, "not_found")


async def test_a_user_is_shown_with_their_tier_once_the_configuration_is_read() -> None:
    made = await users.create_user(accounts(), "shop", person())
    ledger = FakeUserLedger()
    ledger.tiers["shop", str(made.id)] = TierAssignment("gold", "e-1", AT, "manual", None)
    config = ProgrammeConfig.model_validate(
        {"programme_id": "shop", "version": 1, "tiers": [{"name": "blue"}, {"name": "gold"}],
         "default_tier": "blue"}
    )  # fmt: skip
    assert await users.with_tier(ledger, None, made, AT) == made
    shown = await users.with_tier(ledger, config, made, AT)
    assert shown.tier is not None
    assert (shown.tier.name, shown.tier.points_earned, shown.id) == ("gold", None, made.id)

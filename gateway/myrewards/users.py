"""MyRewards users apart from HTTP: creating, reading and updating a programme's users, checked
against the programme's registration rules (`gateway.myrewards.registration`) between reading and
writing them in one transaction of the `UserAccounts` port (Postgres in the process,
`gateway.myrewards.user_store`; an in-memory fake in tests/unit/gateway/myrewards). `create`,
`find` and `update` are the same over the gateway's pool.

A user created here is the programme's user `str(id)` in the ledger, so its points are booked and
read like any other user's. Users of other programmes are unknown (404), never forbidden."""

from datetime import datetime
from typing import Any

import asyncpg

from gateway import tier_standing
from gateway.errors import Conflict, NotFound
from gateway.myrewards import registration
from gateway.myrewards.errors import IdentityTaken
from gateway.myrewards.models import USER_FIELDS, RegistrationAnswer, UserFields, UserOut, UserTier
from gateway.myrewards.ports import UserAccounts
from gateway.myrewards.registration import Catalogue, RegistrationPolicy
from gateway.myrewards.transactions import ledger_user_id
from gateway.myrewards.user_store import PostgresUsers
from schemas.programme import ProgrammeConfig


async def create(pool: asyncpg.Pool, programme_id: str, fields: UserFields) -> UserOut:
    return await create_user(PostgresUsers(pool), programme_id, fields)


async def find(pool: asyncpg.Pool, programme_id: str, user_id: int) -> UserOut:
    return await find_user(PostgresUsers(pool), programme_id, user_id)


async def update(
    pool: asyncpg.Pool, programme_id: str, user_id: int, fields: UserFields
) -> UserOut:
    return await update_user(PostgresUsers(pool), programme_id, user_id, fields)


async def create_user(accounts: UserAccounts, programme_id: str, fields: UserFields) -> UserOut:
    """A new user of the programme from the fields given (the default group when none is),
    meeting the programme's requirements (400), with an identifying field no other user of the
    programme has (409)."""
    async with accounts.editing(programme_id) as records:
        policy, catalogue = await records.rules()
        user: dict[str, Any] = dict.fromkeys(USER_FIELDS) | fields.given()
        if user["user_group_id"] is None:
            user["user_group_id"] = catalogue.default_group_id
        answers = _checked(policy, catalogue, user, fields, {})
        try:
            user_id = await records.insert(registration.identity_key(policy, user), user)
        except IdentityTaken:
            raise _taken(policy) from None
        await records.save_answers(user_id, answers)
        return _user_out(user_id, user, answers)


async def find_user(accounts: UserAccounts, programme_id: str, user_id: int) -> UserOut:
    """The user as the create and update answers show them; 404 for another programme's."""
    found = await accounts.find_user(programme_id, user_id)
    if found is None:
        raise _unknown(user_id)
    return _user_out(user_id, found.fields, found.answers)


async def update_user(
    accounts: UserAccounts, programme_id: str, user_id: int, fields: UserFields
) -> UserOut:
    """PUT and PATCH alike: the fields given replace the stored ones, the others stay; answers
    are replaced per question. The result must still meet the programme's requirements."""
    async with accounts.editing(programme_id) as records:
        stored = await records.locked(user_id)
        if stored is None:
            raise _unknown(user_id)
        policy, catalogue = await records.rules()
        user = stored.fields | fields.given()
        answers = _checked(policy, catalogue, user, fields, stored.answers)
        try:
            await records.update(user_id, registration.identity_key(policy, user), user)
        except IdentityTaken:
            raise _taken(policy) from None
        await records.save_answers(user_id, answers)
        return _user_out(user_id, user, answers)


async def with_tier(
    ledger: tier_standing.TierReads, config: ProgrammeConfig | None, user: UserOut, now: datetime
) -> UserOut:
    """The user with their tier and progress as of `now` (as they are while the gateway has not
    read the programme's configuration yet)."""
    if config is None:
        return user
    found = await tier_standing.tier_standing(ledger, config, ledger_user_id(user.id), now)
    tier = UserTier(
        name=found.tier,
        review_on=found.review_on,
        points_earned=found.points_earned,
        next_tier=found.next_tier,
        points_to_next_tier=found.points_to_next_tier,
    )
    return user.model_copy(update={"tier": tier})


def _checked(
    policy: RegistrationPolicy,
    catalogue: Catalogue,
    user: dict[str, Any],
    fields: UserFields,
    stored: dict[int, str],
) -> dict[int, str]:
    registration.check_user(policy, user)
    registration.check_group(catalogue, user["user_group_id"])
    return registration.check_answers(catalogue, fields.registration_answers_attributes, stored)


def _unknown(user_id: int) -> NotFound:
    return NotFound(f"user {user_id} is unknown in this programme")


def _taken(policy: RegistrationPolicy) -> Conflict:
    return Conflict(f"a user with this {policy.identifier} already exists")


def _user_out(user_id: int, user: dict[str, Any], answers: dict[int, str]) -> UserOut:
    return UserOut(
        id=user_id,
        **user,
        registration_answers_attributes=[
            RegistrationAnswer(registration_question_id=question_id, answer=answer)
            for question_id, answer in sorted(answers.items())
        ],
    )

"""MyRewards users, user groups and registration questions in Postgres, scoped by programme:
`PostgresUsers` is the `Users` and `UserAccounts` ports of `gateway.myrewards.ports` (what the
checks between reading and writing a user are: `gateway.myrewards.users`)."""

import contextlib
from collections.abc import AsyncIterator, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from gateway.myrewards.errors import IdentityTaken
from gateway.myrewards.models import USER_FIELDS, RegistrationQuestionOut, UserGroupOut
from gateway.myrewards.registration import Catalogue, Question, RegistrationPolicy
from ledger.reads import Connection

LIST_MAX = 10_000
_COLUMNS = ", ".join(("user_id", *USER_FIELDS))


@dataclass(frozen=True, slots=True)
class StoredUser:
    fields: dict[str, Any]
    """Every user field (`USER_FIELDS`), by name."""
    answers: dict[int, str]
    """The registration answers, by question id."""


async def exists(db: asyncpg.Pool, programme_id: str, user_id: int) -> bool:
    found = await db.fetchval(
        "SELECT 1 FROM myrewards_users WHERE programme_id = $1 AND user_id = $2",
        programme_id,
        user_id,
    )
    return found is not None


async def existing(db: asyncpg.Pool, programme_id: str, user_ids: Collection[int]) -> set[int]:
    """Those of `user_ids` that are users of the programme, in one query."""
    rows = await db.fetch(
        "SELECT user_id FROM myrewards_users WHERE programme_id = $1 AND user_id = ANY($2)",
        programme_id,
        list(user_ids),
    )
    return {int(row["user_id"]) for row in rows}


async def find_ids(
    db: asyncpg.Pool, programme_id: str, usernames_or_emails: Collection[str]
) -> dict[str, int]:
    """For each of the names, the user whose username or email it is (case-insensitive), in one
    query; a name of no user, or of more than one, is left out."""
    rows = await db.fetch(
        """SELECT wanted.name, found.user_id FROM unnest($2::text[]) AS wanted (name)
           CROSS JOIN LATERAL (
               SELECT user_id FROM myrewards_users WHERE programme_id = $1
               AND (lower(username) = lower(wanted.name) OR lower(email) = lower(wanted.name))
               LIMIT 2) AS found""",
        programme_id,
        sorted(set(usernames_or_emails)),
    )
    found: dict[str, list[int]] = {}
    for row in rows:
        found.setdefault(row["name"], []).append(int(row["user_id"]))
    return {name: ids[0] for name, ids in found.items() if len(ids) == 1}


async def user_groups(db: asyncpg.Pool, programme_id: str) -> list[UserGroupOut]:
    rows = await db.fetch(
        """SELECT user_group_id, name, parent_id, is_default, position FROM myrewards_user_groups
           WHERE programme_id = $1 ORDER BY parent_id NULLS FIRST, position, user_group_id
           LIMIT $2""",
        programme_id,
        LIST_MAX,
    )
    return [
        UserGroupOut(
            id=row["user_group_id"],
            name=row["name"],
            parent_id=row["parent_id"],
            default=row["is_default"],
            position=row["position"],
        )
        for row in rows
    ]


async def registration_questions(
    db: asyncpg.Pool, programme_id: str
) -> list[RegistrationQuestionOut]:
    rows = await db.fetch(
        """SELECT * FROM myrewards_registration_questions WHERE programme_id = $1
           ORDER BY position, question_id LIMIT $2""",
        programme_id,
        LIST_MAX,
    )
    return [
        RegistrationQuestionOut(
            id=row["question_id"],
            label=row["label"],
            mandatory=row["mandatory"],
            field_type=row["field_type"],
            options=row["options"],
            field_name=row["field_name"],
            free_text=row["free_text"],
        )
        for row in rows
    ]


async def find_user(
    db: Connection, programme_id: str, user_id: int, *, lock: bool = False
) -> StoredUser | None:
    """The programme's user (`lock`: FOR UPDATE, inside the caller's transaction); None for
    another programme's or an unknown one."""
    row = await db.fetchrow(
        f"""SELECT {_COLUMNS} FROM myrewards_users WHERE programme_id = $1 AND user_id = $2
            {"FOR UPDATE" if lock else ""}""",
        programme_id,
        user_id,
    )
    if row is None:
        return None
    answers = await _answers(db, user_id)
    return StoredUser({name: row[name] for name in USER_FIELDS}, answers)


@dataclass(frozen=True, slots=True)
class PostgresUserRecords:
    """A programme's users inside one transaction on `conn`."""

    conn: Connection
    programme_id: str

    async def rules(self) -> tuple[RegistrationPolicy, Catalogue]:
        return await _rules(self.conn, self.programme_id)

    async def locked(self, user_id: int) -> StoredUser | None:
        return await find_user(self.conn, self.programme_id, user_id, lock=True)

    async def insert(self, identity_key: str, user: Mapping[str, Any]) -> int:
        names = list(USER_FIELDS)
        placeholders = ", ".join(f"${index}" for index in range(3, len(names) + 3))
        try:
            user_id: int = await self.conn.fetchval(
                f"""INSERT INTO myrewards_users (programme_id, identity_key, {", ".join(names)})
                    VALUES ($1, $2, {placeholders}) RETURNING user_id""",
                self.programme_id,
                identity_key,
                *(user[name] for name in names),
            )
        except asyncpg.UniqueViolationError:
            raise IdentityTaken from None
        return user_id

    async def update(self, user_id: int, identity_key: str, user: Mapping[str, Any]) -> None:
        names = list(USER_FIELDS)
        assignments = ", ".join(f"{name} = ${index}" for index, name in enumerate(names, start=4))
        try:
            await self.conn.execute(
                f"""UPDATE myrewards_users SET identity_key = $3, {assignments}, updated_at = now()
                    WHERE programme_id = $1 AND user_id = $2""",
                self.programme_id,
                user_id,
                identity_key,
                *(user[name] for name in names),
            )
        except asyncpg.UniqueViolationError:
            raise IdentityTaken from None

    async def save_answers(self, user_id: int, answers: Mapping[int, str]) -> None:
        await _save_answers(self.conn, self.programme_id, user_id, dict(answers))


@dataclass(frozen=True, slots=True)
class PostgresUsers:
    pool: asyncpg.Pool

    async def exists(self, programme_id: str, user_id: int) -> bool:
        return await exists(self.pool, programme_id, user_id)

    async def existing(self, programme_id: str, user_ids: Collection[int]) -> set[int]:
        return await existing(self.pool, programme_id, user_ids)

    async def find_ids(
        self, programme_id: str, usernames_or_emails: Collection[str]
    ) -> dict[str, int]:
        return await find_ids(self.pool, programme_id, usernames_or_emails)

    async def find_user(self, programme_id: str, user_id: int) -> StoredUser | None:
        async with self.pool.acquire() as conn:
            return await find_user(conn, programme_id, user_id)

    @contextlib.asynccontextmanager
    async def editing(self, programme_id: str) -> AsyncIterator[PostgresUserRecords]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        async with self.pool.acquire() as conn, conn.transaction():
            yield PostgresUserRecords(conn, programme_id)


async def _rules(conn: Connection, programme_id: str) -> tuple[RegistrationPolicy, Catalogue]:
    row = await conn.fetchrow(
        """SELECT identifier, required_fields, consent_required FROM myrewards_programmes
           WHERE programme_id = $1""",
        programme_id,
    )
    policy = (
        RegistrationPolicy()
        if row is None
        else RegistrationPolicy(
            row["identifier"], tuple(row["required_fields"]), row["consent_required"]
        )
    )
    questions = await conn.fetch(
        "SELECT * FROM myrewards_registration_questions WHERE programme_id = $1 LIMIT $2",
        programme_id,
        LIST_MAX,
    )
    groups = await conn.fetch(
        "SELECT user_group_id, is_default FROM myrewards_user_groups WHERE programme_id = $1",
        programme_id,
    )
    catalogue = Catalogue(
        questions={
            row["question_id"]: Question(
                row["question_id"],
                row["label"],
                row["mandatory"],
                row["field_type"],
                row["options"],
                row["free_text"],
            )
            for row in questions
        },
        group_ids=frozenset(row["user_group_id"] for row in groups),
        default_group_id=next((row["user_group_id"] for row in groups if row["is_default"]), None),
    )
    return policy, catalogue


async def _answers(conn: Connection, user_id: int) -> dict[int, str]:
    rows = await conn.fetch(
        "SELECT question_id, answer FROM myrewards_registration_answers WHERE user_id = $1",
        user_id,
    )
    return {row["question_id"]: row["answer"] for row in rows}


async def _save_answers(
    conn: Connection, programme_id: str, user_id: int, answers: dict[int, str]
) -> None:
    await conn.executemany(
        """INSERT INTO myrewards_registration_answers (programme_id, user_id, question_id, answer)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (user_id, question_id) DO UPDATE SET answer = EXCLUDED.answer""",
        [(programme_id, user_id, question_id, answer) for question_id, answer in answers.items()],
    )

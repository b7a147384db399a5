"""Admins: who may use the console and the admin API, with which role, over which programmes.
Owners create admins and grant programmes; each is audited (never with a password's hash)."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from email_validator import EmailNotValidError, validate_email
from pydantic import JsonValue

from gateway.admin.service import audit, passwords
from gateway.admin.service.actors import ROLES, Actor, Role
from gateway.admin.service.audit import Connection
from gateway.admin.service.errors import Conflict, Forbidden, Invalid, NotFound


@dataclass(frozen=True, slots=True)
class Admin:
    admin_id: int
    email: str
    role: Role
    all_programmes: bool
    disabled: bool
    created_at: datetime
    programmes: tuple[str, ...]

    def audited(self) -> JsonValue:
        return {
            "email": self.email,
            "role": self.role,
            "all_programmes": self.all_programmes,
            "programmes": list(self.programmes),
            "disabled": self.disabled,
        }

    def actor(self, label: str | None = None) -> Actor:
        granted = None if self.all_programmes else frozenset(self.programmes)
        return Actor(label or self.email, self.role, self.admin_id, granted, self.email)


def normalised_email(email: str) -> str:
    return email.strip().lower()


async def find(pool: asyncpg.Pool | Connection, email: str) -> Admin | None:
    row = await pool.fetchrow(
        """
        SELECT admin_id, email, role, all_programmes, disabled, created_at,
               ARRAY(SELECT programme_id FROM admin_grants g WHERE g.admin_id = a.admin_id
                     ORDER BY programme_id) AS programmes
        FROM admins a WHERE email = $1
        """,
        normalised_email(email),
    )
    return None if row is None else _admin(row)


def _admin(row: asyncpg.Record) -> Admin:
    return Admin(
        row["admin_id"], row["email"], row["role"], row["all_programmes"], row["disabled"],
        row["created_at"], tuple(row["programmes"]),
    )  # fmt: skip


async def create(
    pool: asyncpg.Pool,
    actor: Actor,
    email: str,
    role: str,
    password: str,
    programmes: Sequence[str] = (),
    all_programmes: bool = False,
) -> Admin:
    actor.require_owner("create admins")
    email = normalised_email(email)
    _check_new(email, role, password, all_programmes)
    password_hash = await asyncio.to_thread(passwords.hashed, password)
    async with pool.acquire() as connection, connection.transaction():
        await _check_grantable(connection, actor, programmes, all_programmes)
        admin_id = await connection.fetchval(
            "INSERT INTO admins (email, password_hash, role, all_programmes) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (email) DO NOTHING RETURNING admin_id",
            email, password_hash, role, all_programmes,
        )  # fmt: skip
        if admin_id is None:
            raise Conflict(f"an admin '{email}' exists already")
        await _insert_grants(connection, admin_id, programmes)
        admin = await find(connection, email)
        assert admin is not None
        await audit.record(
            connection, actor, audit.Action.ADMIN_CREATED, "admin", email, None, None,
            admin.audited(),
        )  # fmt: skip
    return admin


def _check_new(email: str, role: str, password: str, all_programmes: bool) -> None:
    problems: dict[str, list[str]] = {}
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        problems["email"] = [f"an email address ({exc})"]
    if role not in ROLES:
        problems["role"] = [f"one of {', '.join(ROLES)}"]
    elif all_programmes and role != "owner":
        problems["all_programmes"] = ["only an owner may be granted every programme"]
    trouble = passwords.problem(password)
    if trouble:
        problems["password"] = [trouble]
    if problems:
        raise Invalid(problems)


async def _check_grantable(
    connection: Connection, actor: Actor, programmes: Sequence[str], everything: bool
) -> None:
    """Programmes that exist and that the granting owner has themselves."""
    if everything and actor.programmes is not None:
        raise Forbidden(f"{actor.label} has not every programme, so cannot grant them all")
    for programme_id in programmes:
        actor.require_visible(programme_id)
    known = await connection.fetch(
        "SELECT programme_id FROM programmes WHERE programme_id = ANY($1)", list(programmes)
    )
    missing = sorted(set(programmes) - {row["programme_id"] for row in known})
    if missing:
        raise Invalid.field("programmes", f"unknown programmes {missing}")


async def _insert_grants(connection: Connection, admin_id: int, programmes: Sequence[str]) -> None:
    await connection.executemany(
        "INSERT INTO admin_grants (admin_id, programme_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        [(admin_id, programme_id) for programme_id in programmes],
    )


async def grant(
    pool: asyncpg.Pool,
    actor: Actor,
    email: str,
    programmes: Sequence[str] = (),
    all_programmes: bool = False,
) -> Admin:
    """More programmes for an admin (or every programme, for an owner)."""
    actor.require_owner("grant programmes")
    async with pool.acquire() as connection, connection.transaction():
        before = await find(connection, email)
        if before is None:
            raise NotFound(f"no admin '{normalised_email(email)}'")
        if all_programmes and before.role != "owner":
            raise Invalid.field("all_programmes", "only an owner may be granted every programme")
        await _check_grantable(connection, actor, programmes, all_programmes)
        await _insert_grants(connection, before.admin_id, programmes)
        if all_programmes:
            await connection.execute(
                "UPDATE admins SET all_programmes = true WHERE admin_id = $1", before.admin_id
            )
        after = await find(connection, email)
        assert after is not None
        if after != before:
            await audit.record(
                connection, actor, audit.Action.ADMIN_GRANTED, "admin", after.email, None,
                before.audited(), after.audited(),
            )  # fmt: skip
    return after

"""A programme's MyRewards set-up (gateway.myrewards.configuration, docs/myrewards-file.md):
its user groups, registration questions, promotions, data fields and products, listed and
edited one row at a time through the same validation a file load uses. A change builds the
whole `MyRewardsConfig` from the stored rows with the row added or replaced, validates it
(ids, one default group, parents without a cycle, promotions that exist, one SKU per
promotion) and saves it as `loyalty-admin load-myrewards` would, with the audit entry (the row
before and after) in the same transaction.

As with a file, a row is never deleted (users and claims refer to them): `active: false`
retires a promotion or a product."""

from dataclasses import dataclass
from typing import Any, Literal, get_args

import asyncpg
from pydantic import BaseModel, JsonValue

from gateway.admin.service import audit, programmes
from gateway.admin.service.actors import Actor
from gateway.admin.service.backend import Backend
from gateway.admin.service.errors import Invalid, NotFound
from gateway.admin.service.snapshots import validated
from gateway.myrewards import configuration
from gateway.myrewards.configuration import (
    ConfigurationError,
    DataField,
    MyRewardsConfig,
    Product,
    Promotion,
    RegistrationQuestion,
    UserGroup,
)

Kind = Literal["user_groups", "registration_questions", "promotions", "data_fields", "products"]
KINDS: tuple[Kind, ...] = get_args(Kind)
Row = UserGroup | RegistrationQuestion | Promotion | DataField | Product
ROWS: dict[Kind, type[Row]] = {
    "user_groups": UserGroup,
    "registration_questions": RegistrationQuestion,
    "promotions": Promotion,
    "data_fields": DataField,
    "products": Product,
}
OBJECT_TYPES: dict[Kind, str] = {
    "user_groups": "myrewards_user_group",
    "registration_questions": "myrewards_question",
    "promotions": "myrewards_promotion",
    "data_fields": "myrewards_data_field",
    "products": "myrewards_product",
}


def kind_of(text: str) -> Kind:
    kind = next((k for k in KINDS if k == text), None)
    if kind is None:
        raise NotFound(f"no MyRewards list '{text}'; the lists are {', '.join(KINDS)}")
    return kind


async def setup(pool: asyncpg.Pool, actor: Actor, programme_id: str) -> MyRewardsConfig:
    """The stored set-up (an empty one, with the file's defaults, when nothing is stored)."""
    await programmes.get(pool, actor, programme_id)
    async with pool.acquire() as connection:
        found = await configuration.stored(connection, programme_id)
    return found or MyRewardsConfig(programme_id=programme_id)


def row_of(config: MyRewardsConfig, kind: Kind, row_id: int) -> Row:
    row: Row | None = next((r for r in getattr(config, kind) if r.id == row_id), None)
    if row is None:
        raise NotFound(f"programme {config.programme_id} has no {kind} row {row_id}")
    return row


def parse_row(kind: Kind, data: dict[str, Any]) -> Row:
    """A row from a form or a body, checked alone; Invalid by field."""
    return validated(ROWS[kind], data)


def with_row(current: MyRewardsConfig, kind: Kind, row: BaseModel) -> MyRewardsConfig:
    """Pure: the set-up with `row` replacing the row of its id, or added at the end, validated
    whole as a file is. Problems of the row are named by its fields; those of the whole set-up
    (a SKU twice in a promotion, a parent cycle) are general."""
    rows = [r.model_dump() for r in getattr(current, kind)]
    row_id = row.model_dump()["id"]
    index = next((i for i, r in enumerate(rows) if r["id"] == row_id), len(rows))
    rows[index : index + 1] = [row.model_dump()]
    try:
        return validated(MyRewardsConfig, current.model_dump() | {kind: rows})
    except Invalid as invalid:
        raise rebased_row(invalid, f"{kind}.{index}.") from invalid


def rebased_row(invalid: Invalid, prefix: str) -> Invalid:
    """Problems of `<kind>.<index>.<field>` as the row's own fields; the rest stay general."""
    fields = {
        name.removeprefix(prefix): problems
        for name, problems in invalid.fields.items()
        if name.startswith(prefix)
    }
    general = [
        *invalid.general,
        *(f"{name}: {p}" for name, ps in invalid.fields.items() if not name.startswith(prefix)
          for p in ps),
    ]  # fmt: skip
    return Invalid(fields, general)


@dataclass(frozen=True, slots=True)
class Saved:
    kind: Kind
    row: Row
    added: bool
    changed: bool


async def put_row(backend: Backend, actor: Actor, programme_id: str, kind: Kind, row: Row) -> Saved:
    """Add the row, or replace the row of its id; nothing is stored when it is unchanged."""
    actor.require_editor(programme_id)
    await programmes.get(backend.pool, actor, programme_id)
    async with backend.pool.acquire() as connection, connection.transaction():
        # One change of a programme's set-up at a time: each builds on the rows the last stored.
        await connection.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"myrewards:{programme_id}"
        )
        current = await configuration.stored(connection, programme_id)
        current = current or MyRewardsConfig(programme_id=programme_id)
        before = next((r for r in getattr(current, kind) if r.id == row.id), None)
        if before == row:
            return Saved(kind, row, added=False, changed=False)
        proposed = with_row(current, kind, row)
        try:
            await configuration.save_in(connection, proposed)
        except ConfigurationError as exc:
            raise Invalid({}, [str(exc)]) from exc
        action = audit.Action.MYREWARDS_ROW_ADDED if before is None else (
            audit.Action.MYREWARDS_ROW_CHANGED
        )  # fmt: skip
        await audit.record(
            connection, actor, action, OBJECT_TYPES[kind], str(row.id), programme_id,
            _audited(before), _audited(row),
        )  # fmt: skip
    return Saved(kind, row, added=before is None, changed=True)


def _audited(row: BaseModel | None) -> JsonValue:
    return None if row is None else row.model_dump(mode="json")

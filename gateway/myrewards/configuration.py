"""A programme's MyRewards configuration from a YAML or JSON file: how users are identified,
which fields are required, user groups, registration questions, promotions and data fields.

    loyalty-admin load-myrewards myrewards.yaml

Rows carry their ids in the file (clients keep them: `user_group_id`, `registration_question_id`,
`promotion_id`), so loading the same file again changes nothing and a changed row is updated in
place. Rows missing from the file are kept: users and claims may refer to them."""

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

import asyncpg
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway.myrewards.models import USER_FIELDS
from gateway.myrewards.registration import ALWAYS_REQUIRED
from ledger.db_types import Connection
from schemas.events import Identifier

RowId = Annotated[int, Field(ge=1, le=2**62)]
Name = Annotated[str, Field(min_length=1, max_length=255)]


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UserGroup(_Row):
    id: RowId
    name: Name
    parent_id: RowId | None = None
    default: bool = False
    position: int = 1


class RegistrationQuestion(_Row):
    id: RowId
    label: Name
    mandatory: bool = False
    field_type: Literal["check_box", "date_select", "radio", "select", "text", "user_group"]
    options: str | None = None
    field_name: Name
    free_text: bool = False
    position: int = 1


class Promotion(_Row):
    id: RowId
    name: Name
    active: bool = True


class DataField(_Row):
    id: RowId
    promotion_id: RowId | None = None
    name: Name
    mandatory: bool = False
    field_type: Literal["free_text", "numeric", "list_values", "date"]
    answers: str | None = None
    position: int = 1
    selector: Name


class MyRewardsConfig(_Row):
    programme_id: Identifier
    identifier: Literal["username", "email", "mobile"] = "email"
    required_fields: tuple[str, ...] = ()
    consent_required: bool = False
    user_groups: tuple[UserGroup, ...] = ()
    registration_questions: tuple[RegistrationQuestion, ...] = ()
    promotions: tuple[Promotion, ...] = ()
    data_fields: tuple[DataField, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> "MyRewardsConfig":
        unknown = set(self.required_fields) - set(USER_FIELDS) - set(ALWAYS_REQUIRED)
        if unknown:
            raise ValueError(f"required_fields: not user fields: {sorted(unknown)}")
        if sum(group.default for group in self.user_groups) > 1:
            raise ValueError("user_groups: at most one default group")
        groups = {group.id for group in self.user_groups}
        if any(g.parent_id is not None and g.parent_id not in groups for g in self.user_groups):
            raise ValueError("user_groups: a parent_id is not a group of this file")
        parents = {group.id: group.parent_id for group in self.user_groups}
        for group in self.user_groups:
            seen, current = {group.id}, group.parent_id
            while current is not None:  # bounded: every step adds to `seen` or raises
                if current in seen:
                    raise ValueError("user_groups: the parent_ids form a cycle")
                seen.add(current)
                current = parents[current]
        promotions = {promotion.id for promotion in self.promotions}
        if any(
            f.promotion_id is not None and f.promotion_id not in promotions
            for f in self.data_fields
        ):
            raise ValueError("data_fields: a promotion_id is not a promotion of this file")
        return self


def load_file(path: Path) -> MyRewardsConfig:
    return MyRewardsConfig.model_validate(yaml.safe_load(path.read_text()))


async def save(pool: asyncpg.Pool, config: MyRewardsConfig) -> None:
    """One transaction; parents before children. A row id that belongs to another programme
    is refused (the upsert's WHERE leaves it alone and the count check raises)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            """INSERT INTO myrewards_programmes
               (programme_id, identifier, required_fields, consent_required)
               VALUES ($1, $2, $3, $4) ON CONFLICT (programme_id) DO UPDATE SET
               identifier = EXCLUDED.identifier, required_fields = EXCLUDED.required_fields,
               consent_required = EXCLUDED.consent_required""",
            config.programme_id,
            config.identifier,
            list(config.required_fields),
            config.consent_required,
        )
        # Clear the default first so that moving it cannot break the one-default index.
        await conn.execute(
            "UPDATE myrewards_user_groups SET is_default = false WHERE programme_id = $1",
            config.programme_id,
        )
        # Groups first without parents, then their parents: any order in the file works.
        for group in config.user_groups:
            values = {
                "name": group.name,
                "parent_id": None,
                "is_default": group.default,
                "position": group.position,
            }
            await _upsert(
                conn,
                config.programme_id,
                "myrewards_user_groups",
                "user_group_id",
                group.id,
                values,
            )
        await conn.executemany(
            """UPDATE myrewards_user_groups SET parent_id = $2
               WHERE user_group_id = $1 AND programme_id = $3""",
            [(group.id, group.parent_id, config.programme_id) for group in config.user_groups],
        )
        for question in config.registration_questions:
            values = question.model_dump(exclude={"id"})
            await _upsert(
                conn,
                config.programme_id,
                "myrewards_registration_questions",
                "question_id",
                question.id,
                values,
            )
        for promotion in config.promotions:
            await _upsert(
                conn,
                config.programme_id,
                "myrewards_promotions",
                "promotion_id",
                promotion.id,
                promotion.model_dump(exclude={"id"}),
            )
        for data_field in config.data_fields:
            values = data_field.model_dump(exclude={"id"})
            await _upsert(
                conn,
                config.programme_id,
                "myrewards_data_fields",
                "data_field_id",
                data_field.id,
                values,
            )


async def _upsert(
    conn: Connection,
    programme_id: str,
    table: str,
    key: str,
    row_id: int,
    values: Mapping[str, object],
) -> None:
    names = list(values)
    columns = ", ".join(names)
    placeholders = ", ".join(f"${index}" for index in range(3, len(names) + 3))
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in names)
    status = await conn.execute(
        f"""INSERT INTO {table} ({key}, programme_id, {columns}) VALUES ($1, $2, {placeholders})
            ON CONFLICT ({key}) DO UPDATE SET {updates}
            WHERE {table}.programme_id = EXCLUDED.programme_id""",
        row_id,
        programme_id,
        *values.values(),
    )
    if not status.endswith(" 1"):
        raise ValueError(f"{table} {row_id} belongs to another programme")

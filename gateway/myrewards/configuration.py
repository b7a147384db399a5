"""A programme's MyRewards configuration from a YAML or JSON file: how users are identified,
which fields are required, user groups, registration questions, promotions, data fields and the
products that sales claims earn points for.

    loyalty-admin load-myrewards deploy/programmes/myrewards/demo.yaml

Rows carry their ids in the file (clients keep them: `user_group_id`, `registration_question_id`,
`promotion_id`), and those ids are the programme's own: two programmes may both have a group 1.
Loading the same file again changes nothing and a changed row is updated in place. Rows missing
from the file are kept: users and claims may refer to them (`active: false` retires a promotion
or a product)."""

from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Literal

import asyncpg
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway.myrewards.models import USER_FIELDS
from gateway.myrewards.registration import ALWAYS_REQUIRED
from ledger.reads import Connection
from schemas.events import Identifier

RowId = Annotated[int, Field(ge=1, le=2**62)]
Name = Annotated[str, Field(min_length=1, max_length=255)]
POINTS_PER_UNIT_MAX = 1_000_000
"""With a claim's quantity (at most 1,000,000) a claim earns at most 10^12 points, the most one
ledger booking holds."""


class ConfigurationError(ValueError):
    """A file that is valid by itself but does not fit what is stored (an unknown programme, a
    SKU another stored product of the same promotion has)."""


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UserGroup(_Row):
    id: RowId = Field(description="The group's id in this programme (`user_group_id`).")
    name: Name = Field(description="The group's name.")
    parent_id: RowId | None = Field(
        default=None, description="The id of the parent group (one of this file's); none: a root."
    )
    default: bool = Field(
        default=False,
        description="Users created without a `user_group_id` join this group (at most one).",
    )
    position: int = Field(default=1, description="Order under the parent group.")


class RegistrationQuestion(_Row):
    id: RowId = Field(
        description="The question's id in this programme (`registration_question_id`)."
    )
    label: Name = Field(description="The label shown to the user.")
    mandatory: bool = Field(default=False, description="Registration needs an answer to it.")
    field_type: Literal["check_box", "date_select", "radio", "select", "text", "user_group"] = (
        Field(
            description=(
                "How it is answered: a choice of `options` (check_box, radio, select), a date "
                "YYYY-MM-DD (date_select), free text (text) or a user group id (user_group)."
            )
        )
    )
    options: str | None = Field(
        default=None,
        description="A choice question's options, one per line (or separated by spaces).",
    )
    field_name: Name = Field(description="The form field's name.")
    free_text: bool = Field(
        default=False, description="A choice question also accepts an answer not in `options`."
    )
    position: int = Field(default=1, description="Order of the question in the form.")


class Promotion(_Row):
    id: RowId = Field(description="The promotion's id in this programme (`promotion_id`).")
    name: Name = Field(description="The promotion's name.")
    active: bool = Field(
        default=True, description="Only an active promotion shows its data fields and takes claims."
    )


class DataField(_Row):
    id: RowId = Field(description="The data field's id in this programme.")
    promotion_id: RowId | None = Field(
        default=None,
        description="The promotion (of this file) whose claims carry it; none: the programme's.",
    )
    name: Name = Field(description="The field's name: a claim's extra key for it.")
    mandatory: bool = Field(default=False, description="Every claim must give it.")
    field_type: Literal["free_text", "numeric", "list_values", "date"] = Field(
        description="What a claim's value must be: text, a number, one of `answers`, a date."
    )
    answers: str | None = Field(
        default=None, description="A list_values field's allowed answers, one per line."
    )
    position: int = Field(default=1, description="Order of the field in the form.")
    selector: Name = Field(
        description="The field's selector on the form; a claim may use it as the key too."
    )


class Product(_Row):
    """A performance product (or activity) that sales claims name by its SKU."""

    id: RowId = Field(description="The product's id in this programme.")
    product_or_activity: Name = Field(
        description="The SKU claims give as `product_or_activity` (compared exactly)."
    )
    name: Name = Field(description="The product's name.")
    points_per_unit: int = Field(
        ge=0,
        le=POINTS_PER_UNIT_MAX,
        description=(
            "Points a claim earns per unit sold: the claim earns this times its quantity. "
            "0: claims of it are stored and listed, and earn nothing."
        ),
    )
    promotion_id: RowId | None = Field(
        default=None,
        description=(
            "The promotion (of this file) the product belongs to: claimable only with that "
            "promotion. None: the programme's product, claimable with or without a promotion "
            "(a promotion's own product with the same SKU takes precedence)."
        ),
    )
    active: bool = Field(default=True, description="Only an active product takes claims.")


class MyRewardsConfig(_Row):
    """A programme's MyRewards set-up (`loyalty-admin load-myrewards FILE`)."""

    programme_id: Identifier = Field(
        description="The programme (already loaded with `loyalty-admin load-programme`)."
    )
    identifier: Literal["username", "email", "mobile"] = Field(
        default="email",
        description="The user field that identifies a user: required and unique in the programme.",
    )
    required_fields: tuple[str, ...] = Field(
        default=(),
        description=(
            "User fields the programme requires besides firstname, lastname and tsandcs "
            "(any of the create-user fields, e.g. company, date_of_birth)."
        ),
    )
    consent_required: bool = Field(
        default=False, description="Creating a user needs `consented: true`."
    )
    user_groups: tuple[UserGroup, ...] = Field(default=(), description="The user groups.")
    registration_questions: tuple[RegistrationQuestion, ...] = Field(
        default=(), description="The registration questions."
    )
    promotions: tuple[Promotion, ...] = Field(default=(), description="The promotions.")
    data_fields: tuple[DataField, ...] = Field(
        default=(), description="The data fields of the programme's and the promotions' claims."
    )
    products: tuple[Product, ...] = Field(
        default=(), description="The products (SKUs) sales claims earn points for."
    )

    @model_validator(mode="after")
    def _consistent(self) -> "MyRewardsConfig":
        unknown = set(self.required_fields) - set(USER_FIELDS) - set(ALWAYS_REQUIRED)
        if unknown:
            raise ValueError(f"required_fields: not user fields: {sorted(unknown)}")
        for name in ("user_groups", "registration_questions", "promotions", "data_fields"):
            _unique(name, (row.id for row in getattr(self, name)))
        _unique("products", (product.id for product in self.products))
        _unique(
            "products",
            ((p.promotion_id, p.product_or_activity) for p in self.products),
            what="SKU in one promotion (or in the programme)",
        )
        self._check_groups()
        promotions = {promotion.id for promotion in self.promotions}
        for name in ("data_fields", "products"):
            if any(
                row.promotion_id is not None and row.promotion_id not in promotions
                for row in getattr(self, name)
            ):
                raise ValueError(f"{name}: a promotion_id is not a promotion of this file")
        return self

    def _check_groups(self) -> None:
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


def _unique(name: str, keys: Iterable[object], what: str = "id") -> None:
    repeated = sorted(str(key) for key, count in Counter(keys).items() if count > 1)
    if repeated:
        raise ValueError(f"{name}: the same {what} more than once: {', '.join(repeated)}")


def load_file(path: Path) -> MyRewardsConfig:
    return MyRewardsConfig.model_validate(yaml.safe_load(path.read_text()))


async def save(pool: asyncpg.Pool, config: MyRewardsConfig) -> None:
    """One transaction; parents before children."""
    async with pool.acquire() as conn, conn.transaction():
        await save_in(conn, config)


async def save_in(conn: Connection, config: MyRewardsConfig) -> None:
    """`save` inside the caller's transaction (the console's, which holds its audit entry)."""
    known = await conn.fetchval(
        "SELECT 1 FROM programmes WHERE programme_id = $1", config.programme_id
    )
    if known is None:
        raise ConfigurationError(
            f"programme {config.programme_id!r} is not loaded (loyalty-admin load-programme)"
        )
    await _save_programme(conn, config)
    await _save_groups(conn, config)
    programme_id = config.programme_id
    for question in config.registration_questions:
        values = question.model_dump(exclude={"id"})
        await _upsert(
            conn,
            programme_id,
            "myrewards_registration_questions",
            "question_id",
            question.id,
            values,
        )
    for promotion in config.promotions:
        values = promotion.model_dump(exclude={"id"})
        await _upsert(
            conn, programme_id, "myrewards_promotions", "promotion_id", promotion.id, values
        )
    for data_field in config.data_fields:
        values = data_field.model_dump(exclude={"id"})
        await _upsert(
            conn, programme_id, "myrewards_data_fields", "data_field_id", data_field.id, values
        )
    for product in config.products:
        await _upsert(
            conn,
            programme_id,
            "myrewards_products",
            "product_id",
            product.id,
            _product(product),
        )
    try:
        await conn.execute("SET CONSTRAINTS myrewards_products_sku IMMEDIATE")
    except asyncpg.UniqueViolationError:
        raise ConfigurationError(
            "products: a SKU of the file is another stored product's in the same promotion "
            "(products missing from the file are kept: give it another SKU in the file)"
        ) from None


async def stored(conn: Connection, programme_id: str) -> MyRewardsConfig | None:
    """The programme's stored set-up as a file would give it, every stored row included (ids
    ascending); None when nothing of it is stored."""
    head = await conn.fetchrow(
        "SELECT identifier, required_fields, consent_required FROM myrewards_programmes "
        "WHERE programme_id = $1",
        programme_id,
    )
    lists = {name: await conn.fetch(sql, programme_id) for name, sql in _STORED.items()}
    if head is None and not any(lists.values()):
        return None
    document: dict[str, object] = {"programme_id": programme_id}
    if head is not None:
        document |= {
            "identifier": head["identifier"],
            "required_fields": list(head["required_fields"]),
            "consent_required": head["consent_required"],
        }
    for name, rows in lists.items():
        document[name] = [dict(row) for row in rows]
    return MyRewardsConfig.model_validate(document)


_STORED = {
    "user_groups": """SELECT user_group_id AS id, name, parent_id, is_default AS "default", position
        FROM myrewards_user_groups WHERE programme_id = $1 ORDER BY user_group_id""",
    "registration_questions": """SELECT question_id AS id, label, mandatory, field_type, options,
        field_name, free_text, position
        FROM myrewards_registration_questions WHERE programme_id = $1 ORDER BY question_id""",
    "promotions": """SELECT promotion_id AS id, name, active
        FROM myrewards_promotions WHERE programme_id = $1 ORDER BY promotion_id""",
    "data_fields": """SELECT data_field_id AS id, promotion_id, name, mandatory, field_type,
        answers, position, selector
        FROM myrewards_data_fields WHERE programme_id = $1 ORDER BY data_field_id""",
    "products": """SELECT product_id AS id, sku AS product_or_activity, name, points_per_unit,
        promotion_id, active
        FROM myrewards_products WHERE programme_id = $1 ORDER BY product_id""",
}


async def _save_programme(conn: Connection, config: MyRewardsConfig) -> None:
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


async def _save_groups(conn: Connection, config: MyRewardsConfig) -> None:
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
            conn, config.programme_id, "myrewards_user_groups", "user_group_id", group.id, values
        )
    await conn.executemany(
        """UPDATE myrewards_user_groups SET parent_id = $2
           WHERE user_group_id = $1 AND programme_id = $3""",
        [(group.id, group.parent_id, config.programme_id) for group in config.user_groups],
    )


def _product(product: Product) -> dict[str, object]:
    return {
        "promotion_id": product.promotion_id,
        "sku": product.product_or_activity,
        "name": product.name,
        "points_per_unit": product.points_per_unit,
        "active": product.active,
    }


async def _upsert(
    conn: Connection,
    programme_id: str,
    table: str,
    key: str,
    row_id: int,
    values: Mapping[str, object],
) -> None:
    """Insert the programme's row `row_id`, or update it in place."""
    names = list(values)
    columns = ", ".join(names)
    placeholders = ", ".join(f"${index}" for index in range(3, len(names) + 3))
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in names)
    await conn.execute(
        f"""INSERT INTO {table} ({key}, programme_id, {columns}) VALUES ($1, $2, {placeholders})
            ON CONFLICT (programme_id, {key}) DO UPDATE SET {updates}""",
        row_id,
        programme_id,
        *values.values(),
    )

"""Performance data: the programme's and its promotions' data fields, and sales data (claims).

Where the seed is silent:
- a claim for a promotion is checked against that promotion's data fields, a claim without one
  against the programme's own (those without a promotion);
- custom fields come as extra keys named by the data field's `name` (the seed's
  "Custom Data Field Text") or its `selector`; a key that is neither is refused, so a misspelt
  field is not stored silently;
- the user is `user_id`, or `username` matched against the username or email (case-insensitive);
- a request is all-or-nothing (the seed's rule): any invalid claim (an unknown user or product,
  a missing or malformed data field) refuses them all with 400 naming the claim's index;
- what a claim earns and how a request is booked: gateway.myrewards.claims; how it is stored and
  answered: gateway.myrewards.claim_store and gateway.myrewards.sales."""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import asyncpg

from gateway.errors import NotFound
from gateway.myrewards import catalogue_store, claims
from gateway.myrewards.catalogue_store import DataField
from gateway.myrewards.claims import PricedClaim
from gateway.myrewards.errors import Invalid
from gateway.myrewards.models import (
    ISO_DATE,
    Claim,
    DataFieldOut,
    PromotionDataFieldOut,
    SalesData,
)
from gateway.myrewards.ports import MyRewardsStores, Users

__all__ = [
    "DataField",
    "check_claim",
    "check_claims",
    "data_fields",
    "promotion_data_fields",
    "promotion_of",
]


def check_claim(fields: Sequence[DataField], claim: Claim, index: int) -> dict[str, Any]:
    """The claim's custom fields by data field name, checked (pure)."""
    given = claim.custom_fields()
    by_key = {field.name: field for field in fields} | {field.selector: field for field in fields}
    values: dict[str, Any] = {}
    for key, value in given.items():
        field = by_key.get(key)
        if field is None:
            raise Invalid(f"data[{index}]: {key!r} is not a data field of this programme")
        if field.name in values:
            raise Invalid(f"data[{index}]: {field.name!r} is given twice")
        values[field.name] = _checked_value(field, value, index)
    missing = [field.name for field in fields if field.mandatory and field.name not in values]
    if missing:
        raise Invalid(f"data[{index}]: mandatory data fields missing: {', '.join(missing)}")
    return values


def _checked_value(field: DataField, value: Any, index: int) -> Any:
    where = f"data[{index}].{field.name}"
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Invalid(f"{where}: must be text or a number")
    # What the claim's stored JSON can hold (NaN and Infinity are not JSON; orjson stores no
    # integer past 64 bits).
    if (isinstance(value, int) and not -(2**63) <= value < 2**63) or (
        isinstance(value, float) and not math.isfinite(value)
    ):
        raise Invalid(f"{where}: must be a finite number of at most 64 bits")
    text = str(value)
    if len(text) > 1_000:
        raise Invalid(f"{where}: at most 1000 characters")
    if field.field_type == "numeric":
        try:
            if not Decimal(text).is_finite():
                raise InvalidOperation
        except InvalidOperation:
            raise Invalid(f"{where}: must be a number") from None
    elif field.field_type == "date":
        if not ISO_DATE.match(text):
            raise Invalid(f"{where}: must be a date YYYY-MM-DD")
        try:
            date.fromisoformat(text)
        except ValueError:
            raise Invalid(f"{where}: must be a date YYYY-MM-DD") from None
    elif field.field_type == "list_values":
        allowed = [line.strip() for line in (field.answers or "").splitlines() if line.strip()]
        if text not in allowed:
            raise Invalid(f"{where}: must be one of {allowed}")
    return value


async def data_fields(pool: asyncpg.Pool, programme_id: str) -> list[DataFieldOut]:
    rows = await catalogue_store.field_rows(pool, programme_id, None)
    return [DataFieldOut.model_validate(_field_out(row)) for row in rows]


async def promotion_data_fields(
    pool: asyncpg.Pool, programme_id: str, promotion_id: int
) -> list[PromotionDataFieldOut]:
    if not await catalogue_store.promotion_active(pool, programme_id, promotion_id):
        raise _no_promotion(promotion_id)
    rows = await catalogue_store.field_rows(pool, programme_id, promotion_id)
    return [PromotionDataFieldOut.model_validate(_field_out(row)) for row in rows]


def _field_out(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["data_field_id"],
        "promotion_id": row["promotion_id"],
        "name": row["name"],
        "mandatory": row["mandatory"],
        "field_type": row["field_type"],
        "answers": row["answers"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "position": row["position"],
        "selector": row["selector"],
    }


def promotion_of(path_promotion_id: int | None, body: SalesData) -> int | None:
    """The request's promotion: the path's (`/promotions/{id}/data`) or the body's, which must
    agree when both are given."""
    if path_promotion_id is not None and body.promotion_id not in (None, path_promotion_id):
        raise Invalid("promotion_id: differs from the promotion in the path")
    return path_promotion_id if path_promotion_id is not None else body.promotion_id


async def check_claims(
    stores: MyRewardsStores, programme_id: str, promotion_id: int | None, body: SalesData
) -> list[tuple[PricedClaim, dict[str, Any]]]:
    """Every claim of the request, checked and priced, with its custom fields by data field
    name; the first invalid claim refuses them all (400 naming its index), a promotion that is
    not the programme's or not active is 404."""
    catalogue = stores.catalogue
    if promotion_id is not None and not await catalogue.promotion_active(
        programme_id, promotion_id
    ):
        raise _no_promotion(promotion_id)
    fields = await catalogue.data_fields(programme_id, promotion_id)
    claimants = await _Claimants.of(stores.users, programme_id, body.data)
    products = await catalogue.products(
        programme_id, {claim.product_or_activity for claim in body.data}
    )
    checked = []
    for index, claim in enumerate(body.data):
        custom = check_claim(fields, claim, index)
        user_id = claimants.user_id(claim, index)
        product = claims.product_for(products, promotion_id, claim, index)
        checked.append((claims.priced(claim, index, user_id, product), custom))
    return checked


@dataclass(frozen=True, slots=True)
class _Claimants:
    """The claims' users, looked up before the claims are checked: one query per kind of lookup
    (by id, by username or email) for the whole request."""

    known_ids: set[int]
    ids_by_name: dict[str, int]

    @classmethod
    async def of(cls, users: Users, programme_id: str, claims: Sequence[Claim]) -> "_Claimants":
        user_ids = {claim.user_id for claim in claims if claim.user_id is not None}
        names = {
            claim.username
            for claim in claims
            if claim.user_id is None and claim.username is not None
        }
        known_ids = await users.existing(programme_id, user_ids) if user_ids else set()
        ids_by_name = await users.find_ids(programme_id, names) if names else {}
        return cls(known_ids, ids_by_name)

    def user_id(self, claim: Claim, index: int) -> int:
        if claim.user_id is not None:
            if claim.user_id not in self.known_ids:
                raise Invalid(f"data[{index}]: user {claim.user_id} is unknown in this programme")
            return claim.user_id
        if claim.username is None:
            raise Invalid(f"data[{index}]: user_id or username is required")
        found = self.ids_by_name.get(claim.username)
        if found is None:
            raise Invalid(f"data[{index}]: user {claim.username!r} is unknown in this programme")
        return found


def _no_promotion(promotion_id: int) -> NotFound:
    return NotFound(f"no promotion {promotion_id} in this programme")

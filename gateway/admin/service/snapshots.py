"""Building a programme's next snapshot from a change, and reading snapshots back: pure
functions of `ProgrammeConfig`s, so every entry point (a console form, an admin-API body, a
file) gets the same snapshot from the same change, and the models' problems come back by field.

A change never edits a snapshot in place: it dumps the current one, replaces what it changes,
raises the version by one and validates the whole again, so every cross-field check of
`schemas.programme` applies to every change."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, field_validator

from gateway.admin.service.errors import Invalid
from gateway.admin.service.fields import problems_by_field
from schemas.event_time import EventTimePolicy
from schemas.events import Identifier
from schemas.programme import (
    BudgetSettings,
    Partner,
    ProgrammeConfig,
    Rounding,
    Tier,
    TierPolicy,
)


class ProgrammeSettings(BaseModel):
    """A programme's settings: everything of its snapshot but its registries (partners, event
    types, rules, API clients). What the settings page edits and the admin API takes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = Field(default=None, max_length=200, description="For people.")
    environment: Literal["production", "staging"] = "production"
    time_zone: str = Field(default="UTC", description="IANA time zone of the programme's days.")
    rounding: Rounding = "floor"
    # At least one: the programme's own check says so (a tuple's minimum would repeat it).
    tiers: Annotated[tuple[Tier, ...], Field(max_length=50)] = (Tier(name="Base"),)
    default_tier: Identifier = "Base"
    tier_policy: TierPolicy | None = Field(
        default=None, description="Tiers from points; None: tiers are only set by hand."
    )
    budget: BudgetSettings = BudgetSettings()
    event_time: EventTimePolicy = EventTimePolicy()

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        # As ProgrammeConfig checks it, so that the form says it with the other problems.
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone '{name}'") from exc
        return name


SETTINGS_FIELDS = tuple(ProgrammeSettings.model_fields)


def settings_of(config: ProgrammeConfig) -> ProgrammeSettings:
    return ProgrammeSettings.model_validate(
        {name: getattr(config, name) for name in SETTINGS_FIELDS}
    )


def parse_settings(data: dict[str, Any]) -> ProgrammeSettings:
    """Invalid with problems by field."""
    return validated(ProgrammeSettings, data)


_Model = TypeVar("_Model", bound=BaseModel)


def validated(model: type[_Model], data: Any) -> _Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise problems_by_field(exc) from exc


def new_programme(programme_id: str, settings: ProgrammeSettings) -> ProgrammeConfig:
    """Version 1 of a programme with these settings and empty registries."""
    data = {"programme_id": programme_id, "version": 1, **settings.model_dump()}
    return storable(validated(ProgrammeConfig, data))


def next_snapshot(current: ProgrammeConfig, **changes: Any) -> ProgrammeConfig:
    """The current snapshot with `changes` (its fields, as python values or plain data), one
    version up, validated whole: Invalid names each problem's field."""
    data = {**current.model_dump(), **changes, "version": current.version + 1}
    return storable(validated(ProgrammeConfig, data))


# The ids Postgres keys programmes and partners by (deploy/migrations/0001_config.sql).
_STORED_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_STORED_ID_RULE = "1 to 64 letters, digits, '.', '_' or '-'"


def storable(config: ProgrammeConfig) -> ProgrammeConfig:
    """The snapshot, if the database can key it: its programme's and partners' ids."""
    problems: dict[str, list[str]] = {}
    if not _STORED_ID.match(config.programme_id):
        problems["programme_id"] = [_STORED_ID_RULE]
    for index, partner in enumerate(config.partners):
        if not _STORED_ID.match(partner.partner_id):
            problems[f"partners.{index}.partner_id"] = [_STORED_ID_RULE]
    if problems:
        raise Invalid(problems)
    return config


def with_settings(current: ProgrammeConfig, settings: ProgrammeSettings) -> ProgrammeConfig:
    return next_snapshot(current, **{name: getattr(settings, name) for name in SETTINGS_FIELDS})


def with_partner(current: ProgrammeConfig, partner: Partner) -> ProgrammeConfig:
    """The partner added, or replacing the one of its id in place."""
    partners = [p for p in current.partners if p.partner_id != partner.partner_id]
    index = next(
        (i for i, p in enumerate(current.partners) if p.partner_id == partner.partner_id),
        len(partners),
    )
    partners.insert(index, partner)
    return next_snapshot(current, partners=partners)


def without_partner(current: ProgrammeConfig, partner_id: str) -> ProgrammeConfig:
    if current.partner(partner_id) is None:
        raise Invalid.field(
            "partner_id", f"programme {current.programme_id} has no partner '{partner_id}'"
        )
    return next_snapshot(
        current, partners=[p for p in current.partners if p.partner_id != partner_id]
    )


def unchanged(current: ProgrammeConfig, proposed: ProgrammeConfig) -> bool:
    """True when `proposed` differs from `current` in its version only."""
    return proposed.model_copy(update={"version": current.version}) == current


# ---- Reading snapshots back: as code, and as differences ------------------------------------


def export_yaml(config: ProgrammeConfig, header: str | None = None) -> str:
    """The programme as a file `loyalty-admin load-programme` takes back unchanged: the fields
    that differ from their defaults, in the model's order, numbers exact (strings)."""
    data = config.model_dump(mode="json", exclude_defaults=True)
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    if header is None:
        return body
    comments = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return comments + body


def parse_yaml(text: str) -> ProgrammeConfig:
    """A programme file's text: Invalid (by field) when the model refuses it, or naming the
    line when it is not YAML."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise Invalid({}, [f"not YAML{where}: {getattr(exc, 'problem', exc)}"]) from exc
    if not isinstance(data, dict):
        raise Invalid({}, ["a programme file is a mapping of its fields"])
    return storable(validated(ProgrammeConfig, data))


@dataclass(frozen=True, slots=True)
class Difference:
    """One changed value: its path (`partners[mgpass].multiplier`), before and after (None
    when it was absent or is gone)."""

    path: str
    before: JsonValue
    after: JsonValue


# Lists whose items carry one of these keys are compared item by item, by that id, whatever
# their order: a partner added in the middle is one addition, not a shift of every later one.
_ID_KEYS = ("partner_id", "rule_id", "client_id", "name")


def differences(before: JsonValue, after: JsonValue) -> list[Difference]:
    """Every changed leaf, or whole item of an id-keyed list added or removed; a snapshot
    against nothing (a first version) is every field of it."""
    if before is None and isinstance(after, dict):
        before = {}
    if after is None and isinstance(before, dict):
        after = {}
    return list(_walk(before, after, ""))


def _walk(before: JsonValue, after: JsonValue, path: str) -> Iterator[Difference]:
    if before == after:
        return
    # A list that appears or goes is compared item by item against an empty one.
    if before is None and isinstance(after, list):
        before = []
    if after is None and isinstance(before, list):
        after = []
    if isinstance(before, dict) and isinstance(after, dict):
        for key in [*before, *(k for k in after if k not in before)]:
            yield from _walk(before.get(key), after.get(key), f"{path}.{key}" if path else key)
        return
    old, new = _keyed(before), _keyed(after)
    if old is not None and new is not None:
        for key in [*old, *(k for k in new if k not in old)]:
            yield from _walk(old.get(key), new.get(key), f"{path}[{key}]")
        return
    yield Difference(path, before, after)


def _keyed(value: JsonValue) -> dict[str, JsonValue] | None:
    if not isinstance(value, list) or not value:
        return None if value != [] else {}
    if not all(isinstance(item, dict) for item in value):
        return None
    for key in _ID_KEYS:
        ids = [item.get(key) for item in value if isinstance(item, dict)]
        if all(isinstance(i, str) for i in ids) and len(set(ids)) == len(ids):
            return {str(i): item for i, item in zip(ids, value, strict=True)}
    return None


def plain(config: ProgrammeConfig) -> JsonValue:
    """The snapshot as plain JSON data, as it is stored and audited."""
    data: JsonValue = config.model_dump(mode="json")
    return data


def described(value: JsonValue) -> str:
    """A value as one short line for people (the audit page and diffs)."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return text.removesuffix("...").strip()

"""A programme's rules: list (in the order the engine tries them), create as a draft, edit (the
rule's next version), activate, end, the history of its versions, and what "Share Rule ID"
gives a developer."""

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gateway.admin.api.auth import ActorDep
from gateway.admin.api.models import DifferenceOut, ExpectedVersion
from gateway.admin.console.state import console_of
from gateway.admin.service import programmes, rules
from gateway.admin.service.configuration import Committed
from gateway.admin.service.rule_changes import rule_of
from gateway.admin.service.rule_sharing import share_info
from schemas.events import Identifier
from schemas.programme import (
    CalendarFrequency,
    Condition,
    ExternalPoints,
    PendingPoints,
    PositivePoints,
    RollingFrequency,
    Rule,
    RulePoints,
    Streak,
)

router = APIRouter(tags=["rules"])


def _described(name: str) -> Any:
    """The rule's own field's description (schemas.programme.Rule), its default kept."""
    field = Rule.model_fields[name]
    return Field(default=field.default, description=field.description)


class RuleBody(BaseModel):
    """Every field of a rule that its author sets; the id is the path's (or `rule_id` when
    creating), the version and the status are the service's (a draft at version 1, each edit
    the next version, `activate` and `end` for the status)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = _described("name")
    event_type: Identifier = _described("event_type")
    kind: Literal["earn", "redeem"] = _described("kind")
    valid_from: AwareDatetime | None = _described("valid_from")
    valid_until: AwareDatetime | None = _described("valid_until")
    priority: int = _described("priority")
    default: bool = _described("default")
    conditions: tuple[Condition, ...] = _described("conditions")
    points: RulePoints = _described("points")
    points_type: Literal["fixed", "per_unit", "external"] = _described("points_type")
    unit_field: Identifier | None = _described("unit_field")
    external: ExternalPoints | None = _described("external")
    daily_cap: PositivePoints | None = _described("daily_cap")
    monthly_cap: PositivePoints | None = _described("monthly_cap")
    frequency: CalendarFrequency | RollingFrequency = _described("frequency")
    budget_max: PositivePoints | None = _described("budget_max")
    trigger: Literal["event", "api"] = _described("trigger")
    authorised_clients: tuple[Identifier, ...] = _described("authorised_clients")
    streak: Streak | None = _described("streak")
    pending: PendingPoints | None = _described("pending")

    def data(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class NewRule(RuleBody):
    rule_id: str = Field(description="1 to 64 letters, digits, '.', '_' or '-'; it goes in URLs.")

    def data(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"rule_id"})


class RuleChange(BaseModel):
    """A rule's change: the programme's version after it, and the rule as stored."""

    programme_id: str
    version: int = Field(description="The programme's version now.")
    changed: bool = Field(description="False when nothing changed (nothing stored).")
    rule: Rule

    @classmethod
    def of(cls, committed: Committed, rule_id: str) -> "RuleChange":
        config = committed.config
        return cls(
            programme_id=config.programme_id, version=config.version,
            changed=committed.changed, rule=rule_of(config, rule_id),
        )  # fmt: skip


class RuleVersionOut(BaseModel):
    programme_version: int
    source: str
    source_file: str | None
    actor: str
    stored_at: datetime
    rule: Rule | None = Field(description="Null where the programme version has no such rule.")
    changes: list[DifferenceOut] = Field(description="Against the version before.")
    created: bool = Field(description="The rule first appears in this version.")


class ShareOut(BaseModel):
    """Seed 001's "Share Rule ID": what to send a third-party developer (never a secret)."""

    rule_name: str
    rule_id: str
    rule_type: str = Field(description="`Earn Points` or `Redeem Points`.")
    environment: str = Field(description="`Production` or `Staging`.")
    url_endpoint: str = Field(description="`POST` here, with X-Client-Id and X-Client-Secret.")
    guide_url: str
    mailto: str = Field(description="A `mailto:` link carrying this text.")


def _base(request: Request) -> str:
    return str(request.base_url).split("/admin/api/v1")[0]


@router.get("/programmes/{programme_id}/rules", response_model=list[Rule])
async def list_rules(request: Request, actor: ActorDep, programme_id: str) -> list[Rule]:
    """By event type, each in the order the engine tries them (default rule last, then streak
    and API-triggered rules, ended ones last)."""
    config = await programmes.get(console_of(request).backend.pool, actor, programme_id)
    return [rule for _, ordered in rules.by_event_type(config) for rule in ordered]


@router.post("/programmes/{programme_id}/rules", status_code=201, response_model=RuleChange)
async def create_rule(
    request: Request,
    actor: ActorDep,
    programme_id: str,
    body: NewRule,
    expected_version: ExpectedVersion = None,
) -> RuleChange:
    """A new rule, version 1, as a draft: it pays nothing until activated."""
    committed = await rules.create(
        console_of(request).backend, actor, programme_id, body.rule_id, body.data(),
        source="api", expected_version=expected_version,
    )  # fmt: skip
    return RuleChange.of(committed, body.rule_id)


@router.get("/programmes/{programme_id}/rules/{rule_id}", response_model=Rule)
async def get_rule(request: Request, actor: ActorDep, programme_id: str, rule_id: str) -> Rule:
    config = await programmes.get(console_of(request).backend.pool, actor, programme_id)
    return rule_of(config, rule_id)


@router.put("/programmes/{programme_id}/rules/{rule_id}", response_model=RuleChange)
async def edit_rule(
    request: Request,
    actor: ActorDep,
    programme_id: str,
    rule_id: str,
    body: RuleBody,
    expected_version: ExpectedVersion = None,
) -> RuleChange:
    """The rule's next version with these fields (its status kept); the same fields again
    change nothing. Ended rules are history: 409."""
    committed = await rules.edit(
        console_of(request).backend, actor, programme_id, rule_id, body.data(),
        source="api", expected_version=expected_version,
    )  # fmt: skip
    return RuleChange.of(committed, rule_id)


@router.post("/programmes/{programme_id}/rules/{rule_id}/activate", response_model=RuleChange)
async def activate_rule(
    request: Request,
    actor: ActorDep,
    programme_id: str,
    rule_id: str,
    expected_version: ExpectedVersion = None,
) -> RuleChange:
    """The draft pays from the published snapshot on. Pass `expected_version` to activate
    exactly the snapshot you reviewed (`GET .../activation` shows what changes)."""
    committed = await rules.activate(
        console_of(request).backend, actor, programme_id, rule_id,
        source="api", expected_version=expected_version,
    )  # fmt: skip
    return RuleChange.of(committed, rule_id)


@router.get(
    "/programmes/{programme_id}/rules/{rule_id}/activation", response_model=list[DifferenceOut]
)
async def preview_activation(
    request: Request, actor: ActorDep, programme_id: str, rule_id: str
) -> list[DifferenceOut]:
    """What activating the rule would change in the programme's snapshot."""
    config = await programmes.get(console_of(request).backend.pool, actor, programme_id)
    found = rules.status_differences(config, rule_id, "active")
    return [DifferenceOut.model_validate(d, from_attributes=True) for d in found]


@router.post("/programmes/{programme_id}/rules/{rule_id}/end", response_model=RuleChange)
async def end_rule(
    request: Request,
    actor: ActorDep,
    programme_id: str,
    rule_id: str,
    expected_version: ExpectedVersion = None,
) -> RuleChange:
    """The rule pays no more; it stays as history."""
    committed = await rules.end(
        console_of(request).backend, actor, programme_id, rule_id,
        source="api", expected_version=expected_version,
    )  # fmt: skip
    return RuleChange.of(committed, rule_id)


@router.get(
    "/programmes/{programme_id}/rules/{rule_id}/history", response_model=list[RuleVersionOut]
)
async def rule_history(
    request: Request, actor: ActorDep, programme_id: str, rule_id: str
) -> list[RuleVersionOut]:
    """Newest first: every stored programme version in which the rule changed."""
    found = await rules.history(console_of(request).backend.pool, actor, programme_id, rule_id)
    return [RuleVersionOut.model_validate(v, from_attributes=True) for v in found]


@router.get("/programmes/{programme_id}/rules/{rule_id}/share", response_model=ShareOut)
async def share_rule(
    request: Request, actor: ActorDep, programme_id: str, rule_id: str
) -> ShareOut:
    console = console_of(request)
    config = await programmes.get(console.backend.pool, actor, programme_id)
    info = share_info(
        config, rule_of(config, rule_id), console.settings.public_api_urls(), _base(request)
    )
    fields = {name: getattr(info, name) for name in ShareOut.model_fields if name != "mailto"}
    return ShareOut(**fields, mailto=info.mailto)

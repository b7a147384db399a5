"""A programme's partners: the event types each may publish, its multiplier and its rate limit.
Each change is a new snapshot (gateway.admin.service.configuration)."""

from typing import Any

from pydantic import JsonValue

from gateway.admin.service import audit
from gateway.admin.service.actors import Actor
from gateway.admin.service.backend import Backend
from gateway.admin.service.configuration import Change, Committed, Source, commit
from gateway.admin.service.errors import Invalid
from gateway.admin.service.fields import rebased
from gateway.admin.service.snapshots import validated, with_partner, without_partner
from schemas.programme import Partner, ProgrammeConfig


def parse(data: dict[str, Any]) -> Partner:
    """A partner from a form or a body; Invalid by field."""
    return validated(Partner, data)


async def put(
    backend: Backend,
    actor: Actor,
    programme_id: str,
    partner: Partner,
    *,
    source: Source,
    expected_version: int | None = None,
    new: bool = False,
) -> Committed:
    """Add the partner, or replace the one of its id; `new`: only add, an existing id is
    refused (checked under the configuration's lock, as the change itself)."""

    def apply(current: ProgrammeConfig) -> ProgrammeConfig:
        if new and current.partner(partner.partner_id) is not None:
            raise Invalid.field("partner_id", f"partner '{partner.partner_id}' exists already")
        index = next(
            (i for i, p in enumerate(current.partners) if p.partner_id == partner.partner_id),
            len(current.partners),
        )
        try:
            return with_partner(current, partner)
        except Invalid as invalid:
            raise rebased(invalid, f"partners.{index}.") from invalid

    def action(current: ProgrammeConfig) -> audit.Action:
        known = current.partner(partner.partner_id) is not None
        return audit.Action.PARTNER_CHANGED if known else audit.Action.PARTNER_ADDED

    change = Change(action, "partner", partner.partner_id, apply, _state(partner.partner_id))
    return await commit(
        backend, actor, programme_id, change, source=source, expected_version=expected_version
    )


async def remove(
    backend: Backend,
    actor: Actor,
    programme_id: str,
    partner_id: str,
    *,
    source: Source,
    expected_version: int | None = None,
) -> Committed:
    """The partner leaves the configuration: its keys stop working (the gateway finds no
    partner for them) and stay listed until revoked."""
    change = Change(
        audit.Action.PARTNER_REMOVED,
        "partner",
        partner_id,
        lambda current: without_partner(current, partner_id),
        _state(partner_id),
    )
    return await commit(
        backend, actor, programme_id, change, source=source, expected_version=expected_version
    )


def _state(partner_id: str) -> Any:
    def audited(config: ProgrammeConfig) -> JsonValue:
        partner = config.partner(partner_id)
        return None if partner is None else partner.model_dump(mode="json")

    return audited

"""A programme's event types and their typed parameters (name, type, mandatory): added,
changed, removed while nothing uses them; each change a new snapshot
(gateway.admin.service.configuration)."""

from typing import Any

from pydantic import JsonValue

from gateway.admin.service import audit
from gateway.admin.service.actors import Actor
from gateway.admin.service.backend import Backend
from gateway.admin.service.configuration import Change, Committed, Source, commit
from gateway.admin.service.errors import Invalid
from gateway.admin.service.rule_changes import with_event_type, without_event_type
from gateway.admin.service.snapshots import validated
from schemas.programme import EventType, ProgrammeConfig


def parse(data: dict[str, Any]) -> EventType:
    """An event type from a form or a body; Invalid by field (`parameters.1.type`)."""
    return validated(EventType, data)


async def put(
    backend: Backend,
    actor: Actor,
    programme_id: str,
    event_type: EventType,
    *,
    source: Source,
    expected_version: int | None = None,
    new: bool = False,
) -> Committed:
    """Add the event type, or replace the parameters of the one of its name (rules whose
    conditions no longer fit refuse the change, by name); `new`: only add, an existing name is
    refused (checked under the configuration's lock, as the change itself)."""

    def apply(current: ProgrammeConfig) -> ProgrammeConfig:
        if new and current.event_type(event_type.name) is not None:
            raise Invalid.field("name", f"event type '{event_type.name}' exists already")
        return with_event_type(current, event_type)

    def action(current: ProgrammeConfig) -> audit.Action:
        known = current.event_type(event_type.name) is not None
        return audit.Action.EVENT_TYPE_CHANGED if known else audit.Action.EVENT_TYPE_ADDED

    change = Change(action, "event_type", event_type.name, apply, _state(event_type.name))
    return await commit(
        backend, actor, programme_id, change, source=source, expected_version=expected_version
    )


async def remove(
    backend: Backend,
    actor: Actor,
    programme_id: str,
    name: str,
    *,
    source: Source,
    expected_version: int | None = None,
) -> Committed:
    """Refused (Conflict, naming them) while a rule or a partner uses it."""
    change = Change(
        audit.Action.EVENT_TYPE_REMOVED, "event_type", name,
        lambda current: without_event_type(current, name), _state(name),
    )  # fmt: skip
    return await commit(
        backend, actor, programme_id, change, source=source, expected_version=expected_version
    )


def _state(name: str) -> Any:
    def audited(config: ProgrammeConfig) -> JsonValue:
        event_type = config.event_type(name)
        return None if event_type is None else event_type.model_dump(mode="json")

    return audited

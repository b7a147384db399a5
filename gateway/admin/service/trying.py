"""'Try an event': decide an event against a programme's rules, drafts included on request, with
the user's real state and the explanation; nothing is stored, counted or audited. The event goes
to the processors as a preview (`gateway.publishing.previews`), the path the partner API's
`POST /api/partner/events/preview` takes, so the answer is the engine's own against the state
the worker holds for the user."""

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue

from gateway.admin.service import programmes
from gateway.admin.service.actors import Actor
from gateway.admin.service.backend import Backend
from gateway.admin.service.errors import Invalid, Unavailable
from gateway.admin.service.snapshots import validated
from gateway.publishing.previews import PreviewUnavailable
from schemas.events import EventV1, Identifier
from schemas.previews import PreviewReply
from schemas.programme import EventType, ProgrammeConfig


class Trial(BaseModel):
    """The event to try, as a person (or a script) describes it."""

    model_config = ConfigDict(extra="forbid")

    user_id: Identifier = Field(description="Whose state the rules see (caps, streaks, tier).")
    event_type: Identifier = Field(description="A declared event type of the programme.")
    metadata: dict[str, JsonValue] = Field(
        default_factory=dict, description="The event's parameters, typed as declared."
    )
    partner_id: Identifier | None = Field(
        default=None,
        description="Try it as this partner's event (its multiplier and allowed event types); "
        "none: as an internal service's.",
    )
    occurred_at: AwareDatetime | None = Field(
        default=None, description="When the user acted; now if absent."
    )
    include_drafts: bool = Field(
        default=False, description="Decide with the draft rules as if they were active."
    )


async def try_event(
    backend: Backend, actor: Actor, programme_id: str, trial: Trial
) -> PreviewReply:
    """The processors' decision for the trial event now. Any admin who sees the programme may
    try (nothing changes); Invalid for an undeclared event type or an unknown partner,
    Unavailable when the processors do not answer."""
    config = await programmes.get(backend.pool, actor, programme_id)
    problems = _problems(config, trial)
    if problems:
        raise Invalid(problems)
    if backend.previews is None:
        raise Unavailable("this process cannot ask the processors for previews")
    event = EventV1(
        event_id=f"try_{uuid.uuid4().hex}",
        programme_id=programme_id,
        user_id=trial.user_id,
        event_type=trial.event_type,
        occurred_at=trial.occurred_at or datetime.now(UTC),
        partner_id=trial.partner_id,
        environment=config.environment,
        metadata=trial.metadata,
    )
    try:
        return await backend.previews.preview(event, drafts=trial.include_drafts)
    except PreviewUnavailable as exc:
        raise Unavailable(f"{exc.message}; nothing was decided, try again") from exc


def _problems(config: ProgrammeConfig, trial: Trial) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if config.event_type(trial.event_type) is None:
        declared = ", ".join(e.name for e in config.event_types) or "none"
        problems["event_type"] = [f"not a declared event type (declared: {declared})"]
    if trial.partner_id is not None and config.partner(trial.partner_id) is None:
        problems["partner_id"] = [f"the programme has no partner '{trial.partner_id}'"]
    return problems


def parse_form(config: ProgrammeConfig, data: dict[str, Any]) -> Trial:
    """A trial from the console's form: `metadata.<parameter>` texts typed by the event type's
    declared parameters (an empty text is left out); Invalid by field."""
    event_type = config.event_type(str(data.get("event_type") or ""))
    texts = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    metadata, problems = typed_metadata(event_type, texts or {})
    fields = {
        "user_id": data.get("user_id") or None,
        "event_type": data.get("event_type") or None,
        "partner_id": data.get("partner_id") or None,
        "occurred_at": data.get("occurred_at") or None,
        "include_drafts": data.get("include_drafts") in ("true", "on", True),
        "metadata": metadata,
    }
    try:
        trial = validated(Trial, fields)
    except Invalid as invalid:
        raise Invalid(invalid.fields | problems, invalid.general) from invalid
    if problems:
        raise Invalid(problems)
    return trial


def typed_metadata(
    event_type: EventType | None, texts: dict[str, Any]
) -> tuple[dict[str, JsonValue], dict[str, list[str]]]:
    """The declared parameters' values from their texts, and the problems by field."""
    metadata: dict[str, JsonValue] = {}
    problems: dict[str, list[str]] = {}
    for parameter in () if event_type is None else event_type.parameters:
        text = str(texts.get(parameter.name) or "").strip()
        if not text:
            continue
        try:
            metadata[parameter.name] = _typed(parameter.type, text)
        except ValueError:
            problems[f"metadata.{parameter.name}"] = [f"must be {parameter.type}, not {text!r}"]
    return metadata, problems


def _typed(kind: str, text: str) -> JsonValue:
    if kind == "integer":
        return int(text)
    if kind == "float":
        value = float(text)
        return int(value) if value.is_integer() and "." not in text else value
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise ValueError(text)
        return text.lower() == "true"
    return text

"""`events.v1`: what partners (through the gateway) and internal services (directly) publish."""

import hashlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Final, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, StringConstraints

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)]
Fingerprint = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
"""The first 128 bits of a SHA-256, in hex: enough to tell two payloads apart, and short enough
to ride along in every outcome's notification."""


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class EventV1(BaseModel):
    """One user action. `occurred_at` is the only clock the engine ever reads."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    event_id: Identifier
    programme_id: Identifier
    user_id: Identifier
    event_type: Identifier
    occurred_at: AwareDatetime = Field(
        description="When the user acted. It must lie within the programme's event-time policy "
        "(`event_time`: by default from 7 days before to 5 minutes after) around the record's "
        "Kafka timestamp, else the record is a dead letter `occurred_at_out_of_bounds`; "
        "imported history (`import_id`) is exempt."
    )
    partner_id: Identifier | None = Field(
        default=None, description="Publishing partner; None for internal services."
    )
    client_id: Identifier | None = Field(
        default=None, description="API client that triggered `rule_id` (API-triggered rules)."
    )
    rule_id: Identifier | None = Field(
        default=None, description="Set only when a client triggers one rule by its id."
    )
    reference_id: str | None = Field(
        default=None,
        max_length=256,
        description="Partner's idempotency key (metadata.reference_id).",
    )
    environment: Literal["production", "staging"] = "production"
    metadata: dict[str, JsonValue] = Field(default_factory=dict)
    import_id: Identifier | None = Field(
        default=None,
        description="Set only on imported history (`loyalty-admin import-events`, an operator's "
        "command): the imported file's id, `imp_` and 16 hex digits of its SHA-256. Such an "
        "event is exempt from the programme's event-time policy. None on live events: the gateway "
        "never sets it, so partners cannot.",
    )
    payload_fingerprint: Fingerprint | None = Field(
        default=None,
        description=(
            "What the producer sent under this event's idempotency key (`payload_fingerprint`): "
            "stored with the outcome, so that the key reused with another payload is refused "
            "(409) rather than answered with the first event's outcome. The gateway sets it "
            "for events with a reference; other producers may."
        ),
    )


def scoped_id(
    prefix: str,
    scope: Sequence[str | int],
    reference: str | None,
    *,
    separator: str = "\x1f",
    length: int = 32,
) -> str:
    """`prefix` and a random hex id without a reference; with one, deterministic (a retry is
    recognised downstream): `prefix` and the first `length` hex digits of the SHA-256 of the
    scope's parts and the reference, joined by `separator`."""
    if reference is None:
        return f"{prefix}{uuid.uuid4().hex}"
    text = separator.join([*(str(part) for part in scope), reference])
    return f"{prefix}{hashlib.sha256(text.encode()).hexdigest()[:length]}"


def payload_fingerprint(event: EventV1, *, occurred_at_given: bool) -> str:
    """The fingerprint of what the producer sent: who (partner, client), for whom, what (event
    type, rule, reference, metadata) and, when the producer gave it, when. Canonical: JSON with
    sorted keys, the time as UTC microseconds, so key order, whitespace and the time's offset do
    not matter (numbers are compared as sent: 150 and 150.0 differ)."""
    at_us = None
    if occurred_at_given:
        since = event.occurred_at - _EPOCH
        at_us = since.days * 86_400_000_000 + since.seconds * 1_000_000 + since.microseconds
    sent = (
        event.programme_id,
        event.partner_id,
        event.client_id,
        event.user_id,
        event.event_type,
        event.rule_id,
        event.reference_id,
        event.metadata,
        at_us,
    )
    canonical = orjson.dumps(sent, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()[:32]


def event_id_for(programme_id: str, partner_id: str, reference_id: str | None) -> str:
    """Deterministic id for a partner's reference, so a retried publish is recognised downstream."""
    return scoped_id("evt_", (programme_id, partner_id), reference_id)

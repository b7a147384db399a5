"""`events.v1`: what partners (through the gateway) and internal services (directly) publish."""

import hashlib
import uuid
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, StringConstraints

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)]


class EventV1(BaseModel):
    """One user action. `occurred_at` is the only clock the engine ever reads."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    event_id: Identifier
    programme_id: Identifier
    user_id: Identifier
    event_type: Identifier
    occurred_at: AwareDatetime
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


def event_id_for(programme_id: str, partner_id: str, reference_id: str | None) -> str:
    """Deterministic id for a partner's reference, so a retried publish is recognised downstream."""
    if reference_id is None:
        return f"evt_{uuid.uuid4().hex}"
    digest = hashlib.sha256(
        f"{programme_id}\x1f{partner_id}\x1f{reference_id}".encode()
    ).hexdigest()
    return f"evt_{digest[:32]}"

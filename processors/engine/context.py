"""What every rule of one event is evaluated against."""

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import JsonValue

from processors.engine.compile import CompiledProgramme
from schemas.events import EventV1


@dataclass(slots=True)  # treated as immutable; frozen=True would cost 4x per instance
class EventContext:
    event: EventV1
    programme: CompiledProgramme
    metadata: Mapping[str, JsonValue]
    tier: str
    tier_e4: int
    partner_e4: int
    multipliers_text: str
    """' * tier Silver 1.5 * partner 1' for explanations."""
    external_points: Mapping[str, int]

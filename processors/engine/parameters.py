"""Type checks of an event's metadata against its event type's declared parameters."""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from pydantic import JsonValue

from schemas.programme import EventType

# Exact types, not isinstance: bool is a subclass of int, and True is not an integer here.
_ACCEPTED_TYPES: Final[Mapping[str, frozenset[type]]] = {
    "integer": frozenset({int}),
    "float": frozenset({int, float}),
    "string": frozenset({str}),
    "boolean": frozenset({bool}),
}


@dataclass(frozen=True, slots=True)
class CompiledParameter:
    name: str
    type_name: str
    mandatory: bool
    accepted_types: frozenset[type]


def compile_parameters(event_type: EventType) -> tuple[CompiledParameter, ...]:
    return tuple(
        CompiledParameter(p.name, p.type, p.mandatory, _ACCEPTED_TYPES[p.type])
        for p in event_type.parameters
    )


def parameter_problem(
    parameters: tuple[CompiledParameter, ...], metadata: Mapping[str, JsonValue]
) -> str | None:
    """Why the metadata does not fit the event type (first problem), or None. Null counts as
    absent; undeclared metadata keys (reference_id, currency, ...) are allowed and ignored."""
    for parameter in parameters:
        value = metadata.get(parameter.name)
        if value is None:
            if parameter.mandatory:
                return f"mandatory parameter '{parameter.name}' is missing"
        elif type(value) not in parameter.accepted_types or (
            type(value) is float and not math.isfinite(value)
        ):
            return (
                f"parameter '{parameter.name}' must be {parameter.type_name}, "
                f"got {type(value).__name__} {value!r}"
            )
    return None

"""Type checks of an event's metadata against its event type's declared parameters."""

import builtins
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, cast

from pydantic import JsonValue

from schemas.programme import PARAMETER_TYPES, EventType
from schemas.programme import parameter_problem as parameter_problem


@dataclass(frozen=True, slots=True)
class CompiledParameter:
    name: str
    type: str
    mandatory: bool
    accepted_types: frozenset[builtins.type]


def compile_parameters(event_type: EventType) -> tuple[CompiledParameter, ...]:
    return tuple(
        CompiledParameter(p.name, p.type, p.mandatory, PARAMETER_TYPES[p.type])
        for p in event_type.parameters
    )


ParameterCheck = Callable[[Mapping[str, JsonValue]], bool]
"""metadata -> does it fit the event type (no problem at all)."""

# Exact type tests, as `PARAMETER_TYPES` (a float must also be finite: `v - v` is 0.0 only then).
_TYPE_TESTS: Final[Mapping[str, str]] = {
    "integer": "type({v}) is not int",
    "float": "(type({v}) is not int and (type({v}) is not float or {v} - {v} != 0.0))",
    "string": "type({v}) is not str",
    "boolean": "type({v}) is not bool",
}


def compile_check(parameters: tuple[CompiledParameter, ...]) -> ParameterCheck:
    """`parameter_problem(parameters, metadata) is None` as one generated function: the hot
    path asks only whether there is a problem, and `parameter_problem` words it when there is."""
    names: dict[str, Any] = {}
    lines = ["def check(metadata):"]
    for index, parameter in enumerate(parameters):
        names[f"_p{index}"] = parameter.name
        wrong = _TYPE_TESTS[parameter.type].format(v="v")
        absent = "return False" if parameter.mandatory else "pass"
        lines += [
            f"    v = metadata.get(_p{index})",
            f"    if v is None:\n        {absent}",
            f"    elif {wrong}:\n        return False",
        ]
    lines.append("    return True")
    exec("\n".join(lines), names)  # built from fixed templates and bound names
    return cast(ParameterCheck, names["check"])

"""Rule conditions compiled to closures once per configuration snapshot.

A value that is absent or null only satisfies `is_empty`; every comparison with it fails, so
`duration less_than 10` does not match an event that does not say how long the video was.
The configuration guarantees an operator fits its parameter's type, and event parameters are
type-checked before any condition runs, so a closure never sees a value of the wrong type.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from schemas.programme import Condition

Test = Callable[[Any], bool]


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    parameter: str
    test: Test
    text: str


def _is_empty(value: Any) -> bool:
    return value is None or value == ""


def _is_not_empty(value: Any) -> bool:
    return not (value is None or value == "")


def _comparison(op: str, expected: Any) -> Test:
    # One closure per operator rather than a generic one calling `operator.*`: conditions run
    # for most rules of every event, and a call saved there is worth the repetition.
    tests: dict[str, Test] = {
        "equal_to": lambda v: v is not None and v == expected,
        "not_equal_to": lambda v: v is not None and v != expected,
        "less_than": lambda v: v is not None and v < expected,
        "less_than_or_equal": lambda v: v is not None and v <= expected,
        "greater_than": lambda v: v is not None and v > expected,
        "greater_than_or_equal": lambda v: v is not None and v >= expected,
        "contains": lambda v: v is not None and expected in v,
        "starts_with": lambda v: v is not None and v.startswith(expected),
        "ends_with": lambda v: v is not None and v.endswith(expected),
    }
    return tests[op]


def compile_condition(condition: Condition) -> CompiledCondition:
    op = condition.operator
    if op == "is_empty":
        test: Test = _is_empty
    elif op == "is_not_empty":
        test = _is_not_empty
    else:
        test = _comparison(op, condition.value)
    suffix = "" if condition.value is None else f" {condition.value!r}"
    return CompiledCondition(condition.parameter, test, f"{condition.parameter} {op}{suffix}")

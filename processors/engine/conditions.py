"""Rule conditions compiled once per configuration snapshot into generated Python functions.

A value that is absent or null only satisfies `is_empty`; every comparison with it fails, so
`duration less_than 10` does not match an event that does not say how long the video was.
The configuration guarantees an operator fits its parameter's type, and event parameters are
type-checked before any condition runs, so a test never sees a value of the wrong type.

Every operator is one expression template (`_TEMPLATES`). The templates are assembled into
plain functions with `exec`, once per snapshot: a rule's validity window and conditions become
one `Predicate`, and an event type's whole rule list one `Matcher` that returns the index of the
first rule that matches, so trying all of an event type's rules is a single call with each
metadata value read once. Condition values and parameter names reach the generated code as
bound names, never as source text. The per-condition `test` used by explanations is generated
from the same template, so deciding and explaining can never disagree.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

from schemas.programme import Condition

Predicate = Callable[[Mapping[str, Any], int], bool]
"""(metadata, occurred_at in epoch microseconds) -> does the event pass."""
Matcher = Callable[[Mapping[str, Any], int], int]
"""(metadata, occurred_at in epoch microseconds) -> index of the first rule that matches, or
the number of rules when none does."""

# `{v}`: the parameter's value (None when absent), `{e}`: the condition's value.
_TEMPLATES: Final[Mapping[str, str]] = {
    "equal_to": "({v} is not None and {v} == {e})",
    "not_equal_to": "({v} is not None and {v} != {e})",
    "less_than": "({v} is not None and {v} < {e})",
    "less_than_or_equal": "({v} is not None and {v} <= {e})",
    "greater_than": "({v} is not None and {v} > {e})",
    "greater_than_or_equal": "({v} is not None and {v} >= {e})",
    "contains": "({v} is not None and {e} in {v})",
    "starts_with": "({v} is not None and {v}.startswith({e}))",
    "ends_with": "({v} is not None and {v}.endswith({e}))",
    "is_empty": "({v} is None or {v} == '')",
    "is_not_empty": "(not ({v} is None or {v} == ''))",
}


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    parameter: str
    operator: str
    value: Any
    predicate: Predicate
    text: str

    def test(self, value: Any) -> bool:
        """The condition applied to one value (for explanations, off the hot path)."""
        return self.predicate({self.parameter: value}, 0)


@dataclass(frozen=True, slots=True)
class Clause:
    """What one rule checks: its validity window (None when unbounded) and its conditions."""

    window: tuple[int, int] | None
    conditions: tuple[CompiledCondition, ...]


def compile_condition(condition: Condition) -> CompiledCondition:
    op = condition.operator
    if op not in _TEMPLATES:
        raise ValueError(f"unknown operator {op!r}")
    half = CompiledCondition(condition.parameter, op, condition.value, _never, "")
    predicate = cast(Predicate, _generate([Clause(None, (half,))], single=True))
    suffix = "" if condition.value is None else f" {condition.value!r}"
    text = f"{condition.parameter} {op}{suffix}"
    return CompiledCondition(condition.parameter, op, condition.value, predicate, text)


def rule_predicate(clause: Clause) -> Predicate | None:
    """The clause as one predicate; None when there is nothing to check."""
    if clause.window is None and not clause.conditions:
        return None
    return cast(Predicate, _generate([clause], single=True))


def first_match(clauses: Sequence[Clause]) -> Matcher:
    """One call that tries the clauses in order."""
    return cast(Matcher, _generate(clauses, single=False))


def _never(metadata: Mapping[str, Any], at_us: int) -> bool:
    return False


def _generate(clauses: Sequence[Clause], single: bool) -> Callable[..., Any]:
    """Source of `(metadata, at_us) -> bool` for one clause (`single`), else of the `Matcher`."""
    names: dict[str, Any] = {}
    parameters: dict[str, str] = {}  # parameter -> local variable holding its value
    lines = ["def generated(metadata, at_us):"]
    tests = []
    for clause in clauses:
        parts = []
        if clause.window is not None:
            low, high = _bind(names, clause.window[0]), _bind(names, clause.window[1])
            parts.append(f"({low} <= at_us < {high})")
        for condition in clause.conditions:
            if condition.parameter not in parameters:
                local = f"v{len(parameters)}"
                parameters[condition.parameter] = local
                lines.append(f"    {local} = metadata.get({_bind(names, condition.parameter)})")
            template = _TEMPLATES[condition.operator]
            value = _bind(names, condition.value)
            parts.append(template.format(v=parameters[condition.parameter], e=value))
        tests.append(" and ".join(parts) or "True")
    if single:
        lines.append(f"    return {tests[0]}")
    else:
        lines += [f"    if {test}:\n        return {index}" for index, test in enumerate(tests)]
        lines.append(f"    return {len(tests)}")
    exec("\n".join(lines), names)  # built from templates and bound names only
    return cast(Callable[..., Any], names["generated"])


def _bind(names: dict[str, Any], value: Any) -> str:
    """A name in the generated code's globals that holds `value`."""
    name = f"_k{len(names)}"
    names[name] = value
    return name

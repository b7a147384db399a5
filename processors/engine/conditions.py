"""Rule conditions compiled to closures once per configuration snapshot.

A value that is absent or null only satisfies `is_empty`; every comparison with it fails, so
`duration less_than 10` does not match an event that does not say how long the video was.
The configuration guarantees an operator fits its parameter's type, and event parameters are
type-checked before any condition runs, so a closure never sees a value of the wrong type.

Each condition becomes one `Predicate` over the event's metadata (one call, no helper calls:
conditions run for most rules of every event). A rule's validity window and conditions are
chained into a single predicate (`all_of`), so trying a rule is one call. The per-value `test`
used by explanations is derived from the same predicate, so the two can never disagree.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from schemas.programme import Condition

Predicate = Callable[[Mapping[str, Any], int], bool]
"""(metadata, occurred_at in epoch microseconds) -> does the event pass."""
Test = Callable[[Any], bool]
PredicateFactory = Callable[[str, Any], Predicate]


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    parameter: str
    predicate: Predicate
    text: str

    def test(self, value: Any) -> bool:
        """The condition applied to one value (for explanations, off the hot path)."""
        return self.predicate({self.parameter: value}, 0)


# One factory per operator rather than a generic closure calling `operator.*`: a call saved in
# every condition of every rule tried is worth the repetition.
_FACTORIES: dict[str, PredicateFactory] = {
    "equal_to": lambda p, e: lambda m, _: (v := m.get(p)) is not None and v == e,
    "not_equal_to": lambda p, e: lambda m, _: (v := m.get(p)) is not None and v != e,
    "less_than": lambda p, e: lambda m, _: (v := m.get(p)) is not None and v < e,
    "less_than_or_equal": lambda p, e: lambda m, _: (v := m.get(p)) is not None and v <= e,
    "greater_than": lambda p, e: lambda m, _: (v := m.get(p)) is not None and v > e,
    "greater_than_or_equal": lambda p, e: lambda m, _: (v := m.get(p)) is not None and v >= e,
    "contains": lambda p, e: lambda m, _: (v := m.get(p)) is not None and e in v,
    "starts_with": lambda p, e: lambda m, _: (v := m.get(p)) is not None and v.startswith(e),
    "ends_with": lambda p, e: lambda m, _: (v := m.get(p)) is not None and v.endswith(e),
    "is_empty": lambda p, _: lambda m, _: (v := m.get(p)) is None or v == "",
    "is_not_empty": lambda p, _: lambda m, _: not ((v := m.get(p)) is None or v == ""),
}


def compile_condition(condition: Condition) -> CompiledCondition:
    op = condition.operator
    predicate = _FACTORIES[op](condition.parameter, condition.value)
    suffix = "" if condition.value is None else f" {condition.value!r}"
    return CompiledCondition(condition.parameter, predicate, f"{condition.parameter} {op}{suffix}")


def within(valid_from_us: int, valid_until_us: int) -> Predicate:
    """The validity window `[valid_from_us, valid_until_us)` as a predicate."""
    return lambda _, at_us: valid_from_us <= at_us < valid_until_us


def all_of(predicates: Sequence[Predicate]) -> Predicate | None:
    """The conjunction, short-circuiting in order; None when there is nothing to check."""
    if not predicates:
        return None
    combined = predicates[-1]
    for predicate in reversed(predicates[:-1]):
        combined = _both(predicate, combined)
    return combined


def _both(first: Predicate, second: Predicate) -> Predicate:
    return lambda metadata, at_us: first(metadata, at_us) and second(metadata, at_us)

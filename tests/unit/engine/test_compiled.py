"""Generated code (conditions, rule lists, parameter checks) agrees with plain Python, and exact
unit ratios agree with `Decimal`."""

from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processors.engine.amounts import unit_ratio
from processors.engine.conditions import Clause, compile_condition, first_match, rule_predicate
from processors.engine.parameters import compile_check, compile_parameters, parameter_problem
from schemas.programme import Condition, EventType

_REFERENCE: dict[str, Callable[[Any, Any], bool]] = {
    "equal_to": lambda v, e: v is not None and v == e,
    "not_equal_to": lambda v, e: v is not None and v != e,
    "less_than": lambda v, e: v is not None and v < e,
    "less_than_or_equal": lambda v, e: v is not None and v <= e,
    "greater_than": lambda v, e: v is not None and v > e,
    "greater_than_or_equal": lambda v, e: v is not None and v >= e,
    "contains": lambda v, e: v is not None and e in v,
    "starts_with": lambda v, e: v is not None and v.startswith(e),
    "ends_with": lambda v, e: v is not None and v.endswith(e),
    "is_empty": lambda v, _: v is None or v == "",
    "is_not_empty": lambda v, _: not (v is None or v == ""),
}
_NUMERIC = ["equal_to", "not_equal_to", "less_than", "less_than_or_equal", "greater_than",
            "greater_than_or_equal"]  # fmt: skip
_TEXT = ["equal_to", "contains", "starts_with", "ends_with"]


@pytest.mark.parametrize(
    ("operator", "value", "samples"),
    [
        *[(op, 10, [None, 9, 10, 11, 9.5, 10.0]) for op in _NUMERIC],
        *[(op, "ab", [None, "", "ab", "xab", "abx", "b", "a'b"]) for op in _TEXT],
        *[(op, None, [None, "", "x", 0, False]) for op in ["is_empty", "is_not_empty"]],
        ("equal_to", True, [None, True, False]),
        ("equal_to", 'it\'s "quoted"\n', ['it\'s "quoted"\n', "its"]),
    ],
)
def test_each_operator_matches_its_plain_python_meaning(
    operator: str, value: Any, samples: list[Any]
) -> None:
    compiled = compile_condition(Condition(parameter="p", operator=operator, value=value))
    for sample in samples:
        assert compiled.test(sample) is _REFERENCE[operator](sample, value), sample


def test_a_rule_list_returns_the_first_match_and_checks_windows() -> None:
    def cond(op: str, value: Any) -> Any:
        return compile_condition(Condition(parameter="n", operator=op, value=value))

    clauses = [
        Clause((100, 200), (cond("greater_than", 5),)),
        Clause(None, (cond("greater_than", 3), cond("less_than", 8))),
        Clause(None, ()),
    ]
    matcher = first_match(clauses)
    assert [matcher({"n": n}, 150) for n in [None, 2, 4, 6, 9]] == [2, 2, 1, 0, 0]
    assert [matcher({"n": 9}, at) for at in [99, 100, 199, 200]] == [2, 0, 0, 2]
    assert first_match(clauses[:2])({}, 0) == 2
    assert rule_predicate(Clause(None, ())) is None
    window_only = rule_predicate(Clause((1, 2), ()))
    assert window_only is not None
    assert window_only({}, 1)
    assert not window_only({}, 2)


_EVENT_TYPE = EventType.model_validate(
    {
        "name": "t",
        "parameters": [
            {"name": "i", "type": "integer", "mandatory": True},
            {"name": "f", "type": "float"},
            {"name": "s", "type": "string"},
            {"name": "b", "type": "boolean"},
        ],
    }
)
_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=3), st.just([1])
)


_PARAMETERS = compile_parameters(_EVENT_TYPE)
_CHECK = compile_check(_PARAMETERS)  # generated once: each example only calls it


# too_slow times the drawing of the examples alone: on a loaded machine (the lead's full suite
# beside other developers' sessions) drawing these dictionaries of floats and text can pass its
# limit though nothing is wrong with the test; the other health checks still apply.
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["i", "f", "s", "b", "x"]), _VALUES))
def test_the_generated_parameter_check_agrees_with_parameter_problem(
    metadata: dict[str, Any],
) -> None:
    assert _CHECK(metadata) is (parameter_problem(_PARAMETERS, metadata) is None)


@given(st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers()))
def test_unit_ratio_is_the_exact_decimal_spelling(value: float) -> None:
    numerator, denominator = unit_ratio(value)
    expected = Fraction(*Decimal(repr(value)).as_integer_ratio())
    assert Fraction(numerator, denominator) == expected

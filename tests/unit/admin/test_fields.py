"""Forms and problems by dotted field path: a form's values become a model's input, and the
model's problems land beside the input they name."""

import pytest
from pydantic import ValidationError

from gateway.admin.service.errors import Invalid
from gateway.admin.service.fields import (
    claim,
    flatten,
    problems_by_field,
    rebased,
    unflatten,
)
from schemas.programme import ProgrammeConfig


def test_dotted_names_nest_and_digit_segments_are_list_indexes() -> None:
    pairs = [
        ("name", "Demo"),
        ("tiers.1.name", "Silver"),
        ("tiers.0.name", "Bronze"),
        ("tiers.0.multiplier", "1"),
        ("budget.mode", "funded"),
    ]
    assert unflatten(pairs) == {
        "name": "Demo",
        "tiers": [{"name": "Bronze", "multiplier": "1"}, {"name": "Silver"}],
        "budget": {"mode": "funded"},
    }


def test_blank_values_and_wholly_blank_rows_are_left_out() -> None:
    pairs = [
        ("tiers.0.name", "Gold"),
        ("tiers.1.name", " "),
        ("tiers.1.multiplier", ""),
        ("name", ""),
        ("csrf_token", "secret"),
        ("expected_version", "4"),
    ]
    assert unflatten(pairs) == {"tiers": [{"name": "Gold"}]}


def test_checkbox_groups_collect_every_value() -> None:
    pairs = [("allowed_event_types", "a"), ("allowed_event_types", "b"), ("partner_id", "p")]
    assert unflatten(pairs, multi=["allowed_event_types"]) == {
        "allowed_event_types": ["a", "b"],
        "partner_id": "p",
    }


def test_flatten_is_what_a_form_shows_of_stored_data() -> None:
    data = {"tiers": [{"name": "Base", "multiplier": "1"}], "budget": {"mode": "unfunded"},
            "name": None, "allowed": ["a", "b"], "flag": True}  # fmt: skip
    assert flatten(data) == {
        "tiers.0.name": "Base",
        "tiers.0.multiplier": "1",
        "budget.mode": "unfunded",
        "allowed": "a\nb",
        "flag": "true",
    }


def _problems(data: dict[str, object]) -> Invalid:
    with pytest.raises(ValidationError) as raised:
        ProgrammeConfig.model_validate(data)
    return problems_by_field(raised.value)


def test_a_fields_problem_is_named_by_its_path() -> None:
    invalid = _problems(
        {"programme_id": "p", "version": 1, "tiers": [{"name": "A", "multiplier": "x"}]}
    )
    assert list(invalid.fields) == ["tiers.0.multiplier"]
    assert invalid.general == []


def test_cross_field_problems_are_split_and_placed_by_the_path_each_names() -> None:
    invalid = _problems(
        {
            "programme_id": "p",
            "version": 1,
            "default_tier": "Gold",
            "partners": [{"partner_id": "a", "allowed_event_types": ["nope"]}],
            "event_types": [{"name": "buy"}],
            "rules": [{"rule_id": "r", "version": 1, "event_type": "sell", "points": 1}],
        }
    )
    assert invalid.fields == {
        "default_tier": ["'Gold' is not one of the tiers"],
        "partners.0.allowed_event_types": ["'nope' is not a declared event type"],
        "rules.0.event_type": ["'sell' is not a declared event type"],
    }


def test_a_form_claims_the_problems_of_its_inputs_and_shows_the_rest_on_top() -> None:
    invalid = Invalid({"name": ["too long"], "rules.default": ["two defaults"]}, ["odd"])
    mine, rest = claim(invalid, ["name", "time_zone"])
    assert mine == {"name": ["too long"]}
    assert rest == ["odd", "rules.default: two defaults"]


def test_rebased_problems_drop_the_objects_prefix() -> None:
    invalid = Invalid({"partners.2.multiplier": ["too big"], "default_tier": ["x"]})
    assert rebased(invalid, "partners.2.").fields == {
        "multiplier": ["too big"],
        "default_tier": ["x"],
    }

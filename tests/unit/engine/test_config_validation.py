"""Bad configurations are rejected when saved, with a message that names the field."""

from typing import Any

import pytest
from pydantic import ValidationError

from schemas.programme import ProgrammeConfig
from tests.unit.engine.fixtures import config_dict, rule

VIDEO = {
    "name": "video",
    "parameters": [
        {"name": "duration", "type": "integer", "mandatory": True},
        {"name": "title", "type": "string"},
        {"name": "hd", "type": "boolean"},
        {"name": "rating", "type": "float"},
    ],
}


def _rejected(config: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        ProgrammeConfig.model_validate(config)
    return str(caught.value)


def _condition(parameter: str, operator: str, value: Any = None) -> dict[str, Any]:
    return {"parameter": parameter, "operator": operator, "value": value}


@pytest.mark.parametrize(
    ("rule_fields", "message"),
    [
        (
            {"conditions": [_condition("duration", "contains", 5)]},
            "rules[0] (r).conditions[0].operator: 'contains' does not apply to integer parameter",
        ),
        (
            {"conditions": [_condition("hd", "greater_than", True)]},
            "conditions[0].operator: 'greater_than' does not apply to boolean",
        ),
        (
            {"conditions": [_condition("title", "less_than", "b")]},
            "conditions[0].operator: 'less_than' does not apply to string",
        ),
        (
            {"conditions": [_condition("duration", "equal_to", "ten")]},
            "conditions[0].value: 'ten' is not a integer value",
        ),
        (
            {"conditions": [_condition("duration", "is_empty", 3)]},
            "conditions[0].value: 'is_empty' takes no value",
        ),
        (
            {"conditions": [_condition("length", "equal_to", 3)]},
            "conditions[0].parameter: 'length' is not a parameter of 'video'",
        ),
        ({"conditions": [_condition("duration", "similar_to", 3)]}, "conditions.0.operator"),
        (
            {"points_type": "per_unit", "unit_field": "title"},
            "unit_field: 'title' is string, not numeric",
        ),
        (
            {"points_type": "per_unit", "unit_field": "rating"},
            "unit_field: 'rating' must be a mandatory",
        ),
        (
            {"points_type": "per_unit", "unit_field": "nope"},
            "unit_field: 'nope' is not a parameter",
        ),
        ({"points_type": "per_unit"}, "unit_field: required for points_type 'per_unit'"),
        ({"points_type": "external"}, "external: required for points_type 'external'"),
        ({"points": 0}, "points: must be greater than 0"),
        ({"points": "0.00001"}, "points"),
        (
            {"default": True, "conditions": [_condition("hd", "is_empty")]},
            "default: a default rule has no conditions",
        ),
        ({"trigger": "api"}, "authorised_clients: an API-triggered rule needs"),
        (
            {"trigger": "api", "authorised_clients": ["ghost"]},
            "'ghost' is not a declared api client",
        ),
        ({"event_type": "movie"}, "event_type: 'movie' is not a declared event type"),
        (
            {"valid_from": "2024-02-01T00:00:00Z", "valid_until": "2024-01-01T00:00:00Z"},
            "valid_from: must be before",
        ),
        ({"valid_from": "2024-02-01T00:00:00"}, "valid_from"),
        ({"daily_cap": -5}, "daily_cap"),
        ({"frequency": "hourly"}, "frequency"),
        ({"frequency": {"every": 0, "unit": "minutes"}}, "frequency"),
        ({"status": "live"}, "status"),
        (
            {"kind": "redeem", "streak": {"type": "daily", "events_per_day": 1, "days": 2}},
            "streak: only event-triggered earn",
        ),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_rules_are_rejected_naming_the_field(rule_fields: dict[str, Any], message: str) -> None:
    assert message in _rejected(config_dict([VIDEO], [{**rule("r", "video"), **rule_fields}]))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"time_zone": "Mars/Olympus"}, "unknown IANA time zone 'Mars/Olympus'"),
        ({"default_tier": "Diamond"}, "default_tier: 'Diamond' is not one of the tiers"),
        (
            {"tiers": [{"name": "A"}, {"name": "A"}], "default_tier": "A"},
            "tiers: duplicate ids ['A']",
        ),
        ({"tiers": [{"name": "A", "multiplier": -1}], "default_tier": "A"}, "multiplier"),
        (
            {"partners": [{"partner_id": "p", "allowed_event_types": ["movie"]}]},
            "partners[0].allowed_event_types: 'movie' is not a declared event type",
        ),
        ({"version": 0}, "version"),
        ({"rounding": "bankers"}, "rounding"),
        (
            {"event_types": [{"name": "tier.assigned"}]},
            "'tier.assigned' is a reserved system event type",
        ),
        (
            {
                "event_types": [
                    {
                        "name": "x",
                        "parameters": [
                            {"name": "a", "type": "integer"},
                            {"name": "a", "type": "string"},
                        ],
                    }
                ]
            },
            "duplicate parameter names: ['a']",
        ),
        (
            {"event_types": [{"name": "x", "parameters": [{"name": "a", "type": "decimal"}]}]},
            "type",
        ),
    ],
)
def test_bad_programmes_are_rejected_naming_the_field(fields: dict[str, Any], message: str) -> None:
    assert message in _rejected({**config_dict([VIDEO], []), **fields})


def test_rules_of_one_event_type_are_checked_together() -> None:
    rules = [
        rule("a", "video", priority=1),
        rule("b", "video", priority=1),
        rule("c", "video", default=True),
        rule("d", "video", default=True),
        rule("a", "video", priority=9),
    ]
    message = _rejected(config_dict([VIDEO], rules))
    assert "rules: duplicate ids ['a']" in message
    assert "rules.priority: 2 rules of event type 'video' share priority 1" in message
    assert "rules.default: event type 'video' has 2 default rules, at most 1" in message


def test_an_ended_rule_frees_its_priority() -> None:
    rules = [rule("old", "video", priority=1, status="ended"), rule("new", "video", priority=1)]
    ProgrammeConfig.model_validate(config_dict([VIDEO], rules))

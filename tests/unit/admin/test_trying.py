"""'Try an event': the console's form becomes a typed trial; problems land beside their fields."""

import pytest

from gateway.admin.service.errors import Invalid
from gateway.admin.service.trying import parse_form
from schemas.programme import ProgrammeConfig

CONFIG = ProgrammeConfig.model_validate(
    {
        "programme_id": "p",
        "version": 1,
        "event_types": [
            {"name": "purchase", "parameters": [
                {"name": "amount", "type": "float", "mandatory": True},
                {"name": "items", "type": "integer"},
                {"name": "gift", "type": "boolean"},
                {"name": "shop", "type": "string"},
            ]},
        ],
    }
)  # fmt: skip


def test_parameters_are_typed_as_declared_and_blank_ones_left_out() -> None:
    trial = parse_form(
        CONFIG,
        {"user_id": "ann", "event_type": "purchase", "include_drafts": "true",
         "metadata": {"amount": "150", "items": "3", "gift": "false", "shop": "", "x": "1"}},
    )  # fmt: skip
    assert trial.metadata == {"amount": 150, "items": 3, "gift": False}
    assert trial.include_drafts
    assert trial.partner_id is None
    decimal = {"user_id": "a", "event_type": "purchase", "metadata": {"amount": "1.5"}}
    assert parse_form(CONFIG, decimal).metadata == {"amount": 1.5}


def test_problems_are_named_by_their_fields() -> None:
    with pytest.raises(Invalid) as refused:
        parse_form(CONFIG, {"event_type": "purchase", "metadata": {"items": "2.5", "gift": "y"}})
    assert set(refused.value.fields) == {"user_id", "metadata.items", "metadata.gift"}
    assert refused.value.fields["metadata.items"] == ["must be integer, not '2.5'"]

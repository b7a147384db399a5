"""A programme's MyRewards configuration file is checked before anything is stored."""

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.myrewards.configuration import MyRewardsConfig, load_file

VALID: dict[str, Any] = {
    "programme_id": "demo",
    "identifier": "username",
    "required_fields": ["company", "date_of_birth"],
    "user_groups": [
        {"id": 2, "name": "justice league", "parent_id": 1, "default": True},
        {"id": 1, "name": "dc comics"},
    ],
    "registration_questions": [
        {"id": 2, "label": "Why?", "mandatory": True, "field_type": "text", "field_name": "why"}
    ],
    "promotions": [{"id": 1, "name": "Autumn"}],
    "data_fields": [
        {
            "id": 196,
            "promotion_id": 1,
            "name": "Superpower",
            "field_type": "list_values",
            "answers": "Flight\r\nOther",
            "selector": "superpower",
        }
    ],
}


def test_a_valid_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "myrewards.yaml"
    path.write_text(MyRewardsConfig.model_validate(VALID).model_dump_json())
    config = load_file(path)
    assert config.identifier == "username"
    assert [group.id for group in config.user_groups] == [2, 1]


@pytest.mark.parametrize(
    "change",
    [
        {"identifier": "phone"},
        {"required_fields": ["shoe_size"]},
        {
            "user_groups": [
                {"id": 1, "name": "a", "default": True},
                {"id": 2, "name": "b", "default": True},
            ]
        },
        {"user_groups": [{"id": 1, "name": "a", "parent_id": 9}]},
        {
            "user_groups": [
                {"id": 1, "name": "a", "parent_id": 2},
                {"id": 2, "name": "b", "parent_id": 1},
            ]
        },
        {
            "registration_questions": [
                {"id": 1, "label": "x", "field_type": "slider", "field_name": "x"}
            ]
        },
        {
            "data_fields": [
                {"id": 1, "promotion_id": 5, "name": "x", "field_type": "date", "selector": "x"}
            ]
        },
        {"promotions": [{"id": 0, "name": "zero"}]},
        {"colour": "red"},
    ],
)
def test_an_inconsistent_file_is_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        MyRewardsConfig.model_validate(VALID | change)

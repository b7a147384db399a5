"""A programme's MyRewards configuration file is checked before anything is stored."""

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from gateway.myrewards import configuration
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
    "products": [
        {"id": 1, "product_or_activity": "SKU-1", "name": "One", "points_per_unit": 10},
        {
            "id": 2,
            "product_or_activity": "SKU-1",
            "name": "One, in autumn",
            "points_per_unit": 20,
            "promotion_id": 1,
        },
        {"id": 3, "product_or_activity": "LEAFLET", "name": "Leaflet", "points_per_unit": 0},
    ],
}
PRODUCT = {"id": 9, "product_or_activity": "X", "name": "x", "points_per_unit": 1}


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
        {"user_groups": [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}]},
        {"promotions": [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}]},
        {"products": [PRODUCT, PRODUCT | {"product_or_activity": "Y"}]},
        {"products": [PRODUCT, PRODUCT | {"id": 10}]},
        {"products": [PRODUCT | {"promotion_id": 5}]},
        {"products": [PRODUCT | {"points_per_unit": -1}]},
        {"products": [PRODUCT | {"points_per_unit": 1_000_001}]},
        {"products": [PRODUCT | {"product_or_activity": ""}]},
    ],
)
def test_an_inconsistent_file_is_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        MyRewardsConfig.model_validate(VALID | change)


def test_the_same_sku_may_be_the_programmes_and_a_promotions() -> None:
    config = MyRewardsConfig.model_validate(VALID)
    assert [(p.promotion_id, p.points_per_unit) for p in config.products[:2]] == [
        (None, 10),
        (1, 20),
    ]


@pytest.mark.parametrize(
    "model",
    [
        MyRewardsConfig,
        configuration.UserGroup,
        configuration.RegistrationQuestion,
        configuration.Promotion,
        configuration.DataField,
        configuration.Product,
    ],
)
def test_every_field_of_the_file_is_described(model: type[BaseModel]) -> None:
    """The field reference is generated from these descriptions."""
    missing = [name for name, field in model.model_fields.items() if not field.description]
    assert missing == []

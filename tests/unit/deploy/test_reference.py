"""docs/programme-file.md and docs/myrewards-file.md are exactly what the models say, and the
programme file's reference says something of every field."""

import pytest
from pydantic import BaseModel

from deploy import reference
from schemas.programme import ProgrammeConfig, Rule


@pytest.mark.parametrize("document", reference.DOCUMENTS, ids=lambda d: d.path.name)
def test_the_reference_matches_the_models(document: reference.Document) -> None:
    assert document.path.exists(), f"run `python -m deploy.reference` to write {document.path}"
    assert document.path.read_text() == reference.rendered(document), (
        f"{document.path} is stale: run `python -m deploy.reference` and review the change"
    )


def test_every_programme_field_is_described() -> None:
    undescribed = [row.path for row in reference.rows(ProgrammeConfig) if not row.description]
    assert not undescribed


def test_every_field_of_every_nested_model_has_a_row() -> None:
    paths = {row.path for row in reference.rows(ProgrammeConfig)}
    assert set(ProgrammeConfig.model_fields) <= paths
    assert {f"rules[].{name}" for name in Rule.model_fields} <= paths
    assert {"rules[].streak.days", "rules[].streak.before", "rules[].frequency.every",
            "rules[].conditions[].operator", "event_types[].parameters[].mandatory",
            "budget.mode", "tiers[].multiplier"} <= paths  # fmt: skip


class _Example(BaseModel):
    """A model with what the renderer must handle."""

    amount: int = 5


def test_a_row_shows_type_default_constraints_and_description() -> None:
    [row] = [r for r in reference.rows(ProgrammeConfig) if r.path == "rules[].daily_cap"]
    assert row == reference.Row(
        "rules[].daily_cap",
        "integer or null",
        "`null`",
        "> 0, <= 1000000000000",
        "Points a user may get from the rule's event type per local day; the award is cut to "
        "what is left (a redemption is refused instead).",
    )
    assert reference.rows(_Example) == [reference.Row("amount", "integer", "`5`", "", "")]

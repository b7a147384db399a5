"""The published JSON Schemas are exactly what the pydantic models say."""

import pytest

from schemas import export


@pytest.mark.parametrize("topic", sorted(export.CONTRACTS))
def test_the_published_schema_matches_the_model(topic: str) -> None:
    published = export.path_for(topic)
    assert published.exists(), f"run `python -m schemas.export` to write {published}"
    assert published.read_text() == export.rendered(topic), (
        f"{published} is stale: run `python -m schemas.export` and review the change"
    )

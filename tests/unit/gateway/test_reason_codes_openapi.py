"""Issue 13 item 3: the reason codes are an enum in the OpenAPI document, in every answer that
carries one (the partner API's answer and stored outcome, Kwegg's occurrence answer), so a
partner's generated client knows them all."""

from pathlib import Path
from typing import Any

from gateway.app import create_app
from gateway.settings import GatewaySettings
from schemas.ledger import RejectionReason
from schemas.reasons import ReasonCode

EVERY_CODE = {code.value for code in ReasonCode} | {code.value for code in RejectionReason}


def _codes(schemas: dict[str, Any], field: dict[str, Any]) -> set[str]:
    """The values a field may take: its enums, followed through `$ref` and `anyOf`."""
    if "$ref" in field:
        return _codes(schemas, schemas[field["$ref"].rsplit("/", 1)[-1]])
    found = set(field.get("enum", ()))
    for option in field.get("anyOf", ()):
        found |= _codes(schemas, option)
    return found


def test_every_answer_with_a_reason_code_lists_every_code() -> None:
    schemas = create_app(GatewaySettings()).openapi()["components"]["schemas"]
    answers = {
        "EventAnswer": "reason_code",
        "EventOutcome": "reason_code",
        "OccurrenceData": "reasonCode",
    }
    for model, field in answers.items():
        assert _codes(schemas, schemas[model]["properties"][field]) == EVERY_CODE, model
    assert {"no_rule", "daily_cap", "monthly_cap", "frequency", "budget", "invalid_parameters",
            "duplicate"} <= EVERY_CODE  # fmt: skip


def test_the_readme_lists_every_reason_code() -> None:
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    assert [code.value for code in ReasonCode if f"`{code.value}`" not in readme] == []

"""The console's backtest form: the stored configuration or a pasted candidate, an optional
window; every problem lands beside its input."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
import yaml

from gateway.admin.console.pages.backtest import parse_form
from gateway.admin.service.errors import Invalid
from schemas.programme import ProgrammeConfig

STORED = ProgrammeConfig.model_validate({
    "programme_id": "p", "version": 3,
    "event_types": [{"name": "read"}],
    "rules": [{"rule_id": "read", "version": 1, "event_type": "read", "status": "active",
               "default": True, "points": 2}],
})  # fmt: skip


def candidate_text(**changes: object) -> str:
    data = STORED.model_dump(mode="json") | {"version": 4}
    data["rules"][0] |= changes
    return yaml.safe_dump(data)


def problems(values: dict[str, str]) -> dict[str, list[str]]:
    with pytest.raises(Invalid) as refused:
        parse_form(STORED, values)
    return refused.value.fields


def test_the_stored_configuration_over_the_whole_history_by_default() -> None:
    wanted = parse_form(STORED, {})
    assert (wanted.candidate, wanted.since, wanted.until) == (STORED, None, None)
    # A candidate's text left in the box is not what "stored" runs.
    assert parse_form(STORED, {"source": "stored", "candidate": "x: ["}).candidate == STORED


def test_a_pasted_candidate_and_a_window_in_utc_unless_zoned() -> None:
    wanted = parse_form(STORED, {
        "source": "candidate", "candidate": candidate_text(points=4),
        "since": "2026-05-01", "until": "2026-06-01T12:00:00+02:00",
    })  # fmt: skip
    assert wanted.candidate.version == 4
    assert wanted.candidate.rules[0].points == 4
    assert wanted.since == datetime(2026, 5, 1, tzinfo=UTC)
    assert wanted.until == datetime(2026, 6, 1, 12, tzinfo=timezone(timedelta(hours=2)))


def test_bad_yaml_and_a_refused_candidate_are_shown_beside_the_candidate() -> None:
    assert problems({"source": "candidate", "candidate": "rules: [\n"})["candidate"][0].startswith(
        "not YAML at line"
    )
    refused = problems({"source": "candidate", "candidate": candidate_text(points="many")})
    assert any(line.startswith("rules.0.points:") for line in refused["candidate"])
    other = candidate_text().replace("programme_id: p", "programme_id: q")
    assert problems({"source": "candidate", "candidate": other}) == {
        "candidate": ["the file is programme 'q', not 'p'"]
    }
    assert problems({"source": "candidate", "candidate": "  "}) == {
        "candidate": ["paste a programme file (YAML or JSON)"]
    }


def test_a_bad_window_is_shown_beside_its_inputs() -> None:
    assert problems({"since": "yesterday"}) == {
        "since": ["'yesterday' is not an ISO 8601 date or date-time"]
    }
    assert problems({"since": "2026-06-01", "until": "2026-05-01"}) == {
        "until": ["must be after From"]
    }
    assert set(problems({"source": "other", "until": "soon"})) == {"source", "until"}

"""The evidence pages' shared form inputs (gateway.admin.console.candidates): a period under the
shadow run page's input names, each problem beside its input."""

from datetime import UTC, datetime

from gateway.admin.console import candidates

NAMES = ("from", "to")


def test_a_period_by_any_input_names_utc_unless_zoned_and_open_when_empty() -> None:
    problems: dict[str, list[str]] = {}
    found = candidates.window({"from": "2026-05-01", "to": ""}, problems, NAMES)
    assert found == (datetime(2026, 5, 1, tzinfo=UTC), None)
    assert problems == {}


def test_a_bad_moment_and_an_empty_period_are_placed_beside_their_inputs() -> None:
    problems: dict[str, list[str]] = {}
    candidates.window({"from": "yesterday", "to": "2026-05-01"}, problems, NAMES)
    assert problems == {"from": ["'yesterday' is not an ISO 8601 date or date-time"]}
    problems = {}
    candidates.window({"from": "2026-05-02", "to": "2026-05-01T23:00Z"}, problems, NAMES)
    assert problems == {"to": ["must be after From"]}

"""A programme's event-time policy: its defaults, its limits, and the one check both the gateway
and the processors make with it."""

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.admin.programmes import load_file
from schemas.event_time import EventTimePolicy, duration, instant
from schemas.programme import ProgrammeConfig

NOW = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[3]
PROGRAMME_FILES = sorted(
    [*(REPO / "deploy" / "programmes").glob("*.yaml"), *(REPO / "tests/e2e/programmes").glob("*")]
)


@pytest.mark.parametrize("path", PROGRAMME_FILES, ids=lambda path: path.name)
def test_every_programme_file_gets_the_defaults_5_minutes_and_7_days(path: Path) -> None:
    policy = load_file(path).event_time
    assert (policy.future_max_s, policy.past_max_s) == (300, 604_800)


@pytest.mark.parametrize(
    "offset",
    [timedelta(0), timedelta(minutes=5), -timedelta(days=7), -timedelta(days=6, hours=23)],
)
def test_an_instant_within_the_bounds_or_on_one_is_accepted(offset: timedelta) -> None:
    assert EventTimePolicy().out_of_bounds(NOW + offset, NOW) is None


def test_an_instant_past_the_past_bound_names_that_bound_and_the_range() -> None:
    breach = EventTimePolicy().out_of_bounds(datetime(2020, 1, 1, tzinfo=UTC), NOW)
    assert breach is not None
    assert breach.bound == "past_max_s"
    assert breach.message("now") == (
        "2020-01-01T00:00:00Z is more than 7 days (604800 s) before now (the programme's "
        "event_time.past_max_s); this programme accepts events dated from 2026-11-27T18:00:00Z "
        "to 2026-12-04T18:05:00Z"
    )


def test_an_instant_past_the_future_bound_names_that_bound() -> None:
    late = NOW + timedelta(minutes=5, microseconds=1)
    breach = EventTimePolicy().out_of_bounds(late, NOW)
    assert breach is not None
    assert breach.bound == "future_max_s"
    assert "is more than 5 minutes (300 s) after now" in breach.message("now")


def test_the_grace_widens_both_bounds_and_the_range_it_names() -> None:
    policy = EventTimePolicy(future_max_s=0, past_max_s=3_600)
    assert policy.out_of_bounds(NOW + timedelta(seconds=60), NOW, grace_s=60) is None
    assert policy.out_of_bounds(NOW - timedelta(seconds=3_660), NOW, grace_s=60) is None
    breach = policy.out_of_bounds(NOW - timedelta(seconds=3_661), NOW, grace_s=60)
    assert breach is not None
    assert (breach.earliest, breach.latest) == (
        NOW - timedelta(seconds=3_660),
        NOW + timedelta(seconds=60),
    )


def test_an_instant_in_another_zone_is_compared_as_the_same_instant() -> None:
    plus_2 = timezone(timedelta(hours=2))
    assert EventTimePolicy().out_of_bounds(datetime(2026, 12, 4, 20, 4, tzinfo=plus_2), NOW) is None
    assert EventTimePolicy().out_of_bounds(datetime(2026, 12, 4, 20, 6, tzinfo=plus_2), NOW)


@pytest.mark.parametrize(
    ("policy", "field"),
    [
        ({"future_max_s": 86_401}, "event_time.future_max_s"),
        ({"past_max_s": 366 * 86_400 + 1}, "event_time.past_max_s"),
        ({"past_max_s": -1}, "event_time.past_max_s"),
        ({"past_days": 3}, "event_time.past_days"),
    ],
)
def test_a_policy_outside_its_limits_is_refused_naming_the_field(
    policy: dict[str, int], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        ProgrammeConfig.model_validate({"programme_id": "p", "version": 1, "event_time": policy})
    assert field in str(caught.value)


def test_a_programme_may_widen_its_policy() -> None:
    config = ProgrammeConfig.model_validate(
        {"programme_id": "p", "version": 1, "event_time": {"past_max_s": 30 * 86_400}}
    )
    assert config.event_time == EventTimePolicy(future_max_s=300, past_max_s=2_592_000)
    assert config.event_time.out_of_bounds(NOW - timedelta(days=29), NOW) is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(604_800, "7 days (604800 s)"), (86_400, "1 day (86400 s)"), (3_600, "1 hour (3600 s)"),
     (300, "5 minutes (300 s)"), (90, "90 s"), (0, "0 s")],
)  # fmt: skip
def test_durations_read_as_a_person_would_say_them(seconds: int, text: str) -> None:
    assert duration(seconds) == text


def test_instants_are_utc_with_a_z_and_milliseconds_only_when_there_are_fractions() -> None:
    assert instant(NOW) == "2026-12-04T18:00:00Z"
    assert instant(NOW + timedelta(microseconds=123_456)) == "2026-12-04T18:00:00.123Z"

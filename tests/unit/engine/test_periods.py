"""Local calendar days and months across time zones, DST changes and month ends."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors.engine.periods import ProgrammeCalendar, epoch_us, month_of

ZONES = [
    "UTC",
    "Africa/Accra",
    "America/New_York",
    "Asia/Kathmandu",
    "Pacific/Auckland",
    "America/Sao_Paulo",
    "Australia/Lord_Howe",
    "Asia/Beirut",
]


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1), timezones=st.just(UTC)
    ),
    st.sampled_from(ZONES),
)
def test_moment_matches_the_local_calendar(at: datetime, zone: str) -> None:
    calendar = ProgrammeCalendar(ZoneInfo(zone))
    calendar.periods(at - timedelta(hours=7))  # warm the memo with another day
    at_us, day, month = calendar.periods(at)
    local = at.astimezone(ZoneInfo(zone)).date()
    assert day == local.toordinal()
    assert month == month_of(local)
    assert at_us == epoch_us(at)
    assert calendar.day_start_us(day) <= at_us < calendar.day_start_us(day + 1)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.datetimes(
            min_value=datetime(2023, 12, 25), max_value=datetime(2024, 1, 8), timezones=st.just(UTC)
        ),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from(ZONES),
)
def test_instants_in_any_order_get_their_own_day(instants: list[datetime], zone: str) -> None:
    # A replay takes each user's events together: the days come round again, out of order.
    calendar = ProgrammeCalendar(ZoneInfo(zone))
    for at in instants:
        _, day, month = calendar.periods(at)
        local = at.astimezone(ZoneInfo(zone)).date()
        assert (day, month) == (local.toordinal(), month_of(local))


def test_an_hour_that_holds_a_local_midnight_gives_each_side_its_day() -> None:
    calendar = ProgrammeCalendar(ZoneInfo("Asia/Kathmandu"))  # UTC+5:45: midnight at 18:15
    before = datetime(2024, 1, 1, 18, 5, tzinfo=UTC)
    after = datetime(2024, 1, 1, 18, 25, tzinfo=UTC)
    for at, local_day in [(before, date(2024, 1, 1)), (after, date(2024, 1, 2))] * 2:
        calendar.periods(datetime(2024, 1, 5, tzinfo=UTC))  # another day in between
        assert calendar.periods(at)[1] == local_day.toordinal()


@pytest.mark.parametrize(
    ("zone", "utc", "local_day"),
    [
        ("Pacific/Auckland", datetime(2024, 1, 31, 11, 30, tzinfo=UTC), date(2024, 2, 1)),
        ("America/New_York", datetime(2024, 3, 1, 4, 59, tzinfo=UTC), date(2024, 2, 29)),
        ("America/New_York", datetime(2024, 3, 1, 5, 0, tzinfo=UTC), date(2024, 3, 1)),
        ("Asia/Kathmandu", datetime(2023, 12, 31, 18, 15, tzinfo=UTC), date(2024, 1, 1)),
        ("Asia/Kathmandu", datetime(2023, 12, 31, 18, 14, tzinfo=UTC), date(2023, 12, 31)),
    ],
)
def test_month_ends_in_the_programme_zone(zone: str, utc: datetime, local_day: date) -> None:
    _, day, month = ProgrammeCalendar(ZoneInfo(zone)).periods(utc)
    assert (day, month) == (local_day.toordinal(), month_of(local_day))


def test_a_dst_day_is_23_hours_long() -> None:
    calendar = ProgrammeCalendar(ZoneInfo("America/New_York"))
    day = date(2024, 3, 10).toordinal()
    assert calendar.day_start_us(day + 1) - calendar.day_start_us(day) == 23 * 3_600_000_000

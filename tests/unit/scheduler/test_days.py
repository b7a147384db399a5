"""The scheduler's days (scheduler.days): each programme's local days in order, none skipped,
a bounded catch-up per round, and each day's commands stamped with the instant it began."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from scheduler.days import command_id, commands_for, days_to_emit, local_today
from schemas.ledger import LifecycleAction, day_start


def test_the_days_after_the_last_one_sent_up_to_today() -> None:
    assert days_to_emit(date(2026, 3, 1), date(2026, 3, 4), 31) == [
        date(2026, 3, 2),
        date(2026, 3, 3),
        date(2026, 3, 4),
    ]
    assert days_to_emit(date(2026, 3, 4), date(2026, 3, 4), 31) == []
    assert days_to_emit(date(2026, 3, 9), date(2026, 3, 4), 31) == []  # sent ahead by hand


@given(
    st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)),
    st.integers(min_value=0, max_value=400),
    st.integers(min_value=1, max_value=40),
)
def test_rounds_send_every_day_once_in_order(last: date, behind: int, days_max: int) -> None:
    """However far behind, rounds of at most `days_max` days send each day once, in order."""
    today = date.fromordinal(last.toordinal() + behind)
    sent: list[date] = []
    for _ in range(behind + 1):
        days = days_to_emit(sent[-1] if sent else last, today, days_max)
        assert len(days) <= days_max
        sent += days
    assert sent == [date.fromordinal(last.toordinal() + n) for n in range(1, behind + 1)]


def test_the_local_day_and_its_midnight_are_the_programmes() -> None:
    accra, auckland = ZoneInfo("Africa/Accra"), ZoneInfo("Pacific/Auckland")
    now = datetime(2026, 1, 10, 20, 0, tzinfo=UTC)
    assert local_today(now, accra) == date(2026, 1, 10)
    assert local_today(now, auckland) == date(2026, 1, 11)
    assert day_start(date(2026, 1, 11), auckland) == datetime(2026, 1, 10, 11, 0, tzinfo=UTC)


def test_a_midnight_that_does_not_exist_is_the_transition() -> None:
    # Santiago moved its clocks from 00:00 to 01:00 on 2022-09-11: that day began at 04:00 UTC.
    santiago = ZoneInfo("America/Santiago")
    assert day_start(date(2022, 9, 11), santiago) == datetime(2022, 9, 11, 4, 0, tzinfo=UTC)


def test_a_days_commands_are_idempotent_by_programme_and_day() -> None:
    zone = ZoneInfo("Africa/Accra")
    [release, expire] = commands_for("demo", date(2026, 3, 2), zone)
    assert release.command_id == "release:demo:2026-03-02"
    assert release.action is LifecycleAction.RELEASE_POINTS
    assert release.effective_at == expire.effective_at
    assert expire.command_id == "expire:demo:2026-03-02"
    assert expire.command_id == command_id(LifecycleAction.EXPIRE_POINTS, "demo", date(2026, 3, 2))
    assert expire.action is LifecycleAction.EXPIRE_POINTS
    assert expire.effective_at == datetime(2026, 3, 2, tzinfo=UTC)
    assert commands_for("demo", date(2026, 3, 2), zone) == [release, expire]

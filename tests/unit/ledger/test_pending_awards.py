"""Where a pending award stands, from its terms and what the entries naming it moved."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from ledger.pending_awards import Moved, award_state

ACCRA = ZoneInfo("Africa/Accra")
TOKYO = ZoneInfo("Asia/Tokyo")
TERMS = '{"release_on": "2026-03-15", "confirmed_by": "order.completed", "reference_id": "o-1"}'


def test_an_award_nothing_moved_yet_is_pending_until_its_windows_midnight() -> None:
    state = award_state(40, TERMS, Moved(), TOKYO)
    assert (state.status, state.pending_points, state.released_points, state.cancelled_points) == (
        "pending", 40, 0, 0,
    )  # fmt: skip
    assert state.available_on == date(2026, 3, 15)
    assert state.available_at == datetime(2026, 3, 15, tzinfo=TOKYO)
    assert (state.reference_id, state.confirmed_by) == ("o-1", "order.completed")


def test_an_award_only_a_confirmation_releases_has_no_day() -> None:
    terms = '{"release_on": null, "confirmed_by": "order.completed", "reference_id": "o-2"}'
    state = award_state(40, terms, Moved(cancelled=10), ACCRA)
    assert (state.status, state.pending_points, state.available_on, state.available_at) == (
        "pending", 30, None, None,
    )  # fmt: skip


def test_an_award_released_is_available_from_the_local_day_of_its_release() -> None:
    released_at = datetime(2026, 3, 4, 16, 30, tzinfo=UTC)  # 01:30 on the 5th in Tokyo
    state = award_state(40, TERMS, Moved(released=30, cancelled=10, released_at=released_at), TOKYO)
    assert (state.status, state.pending_points, state.released_points, state.cancelled_points) == (
        "available", 0, 30, 10,
    )  # fmt: skip
    assert (state.available_on, state.available_at) == (date(2026, 3, 5), released_at)


def test_an_award_cancelled_in_full_before_any_release_is_cancelled() -> None:
    state = award_state(40, TERMS, Moved(cancelled=40), ACCRA)
    assert (state.status, state.pending_points, state.available_on, state.available_at) == (
        "cancelled", 0, None, None,
    )  # fmt: skip

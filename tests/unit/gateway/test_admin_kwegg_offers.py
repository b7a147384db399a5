"""`loyalty-admin create-offer`'s end date: an instant, so it needs its time zone."""

from datetime import UTC, datetime, timedelta

import pytest
import typer

from gateway.admin.kwegg_offers import aware_datetime


def test_an_end_with_its_time_zone_is_read() -> None:
    assert aware_datetime("2027-01-01T00:00:00+00:00") == datetime(2027, 1, 1, tzinfo=UTC)
    assert aware_datetime("2027-01-01T02:00:00+02:00").utcoffset() == timedelta(hours=2)
    assert aware_datetime("2027-01-01T00:00:00Z").tzinfo == UTC


@pytest.mark.parametrize(
    ("text", "problem"),
    [("2027-01-01T00:00:00", "has no time zone"), ("next year", "is not an ISO 8601")],
)
def test_an_end_without_a_time_zone_is_refused(text: str, problem: str) -> None:
    with pytest.raises(typer.BadParameter, match=problem):
        aware_datetime(text)

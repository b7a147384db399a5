"""Expiry dates (ledger.core.expiry): the programme's policy applied to the local day points
were earned."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from ledger.core.expiry import LotDates, expiry_policy, lot_date
from schemas.ledger import day_start
from schemas.programme import PointsExpiry


def policy(**fields: object) -> object:
    found = expiry_policy(PointsExpiry.model_validate(fields), "Africa/Accra")
    assert found is not None
    return found


def test_never_is_no_policy() -> None:
    assert expiry_policy(PointsExpiry(), "UTC") is None


def test_days_after_earning_expire_at_the_midnight_n_days_after_the_day_earned() -> None:
    expiry = policy(policy="days_after_earning", days=30)
    assert lot_date(expiry, date(2026, 3, 1)) == date(2026, 3, 31)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("period", "after_months", "earned", "expires"),
    [
        ("month", 0, date(2026, 3, 15), date(2026, 4, 1)),
        ("month", 1, date(2026, 1, 31), date(2026, 3, 1)),
        ("month", 11, date(2026, 12, 31), date(2027, 12, 1)),
        ("quarter", 0, date(2026, 3, 31), date(2026, 4, 1)),
        ("quarter", 12, date(2025, 3, 15), date(2026, 4, 1)),
        ("quarter", 2, date(2026, 11, 5), date(2027, 4, 1)),
        ("year", 0, date(2026, 6, 1), date(2027, 1, 1)),
        ("year", 12, date(2026, 12, 31), date(2028, 1, 1)),
    ],
)
def test_end_of_period_after_months(
    period: str, after_months: int, earned: date, expires: date
) -> None:
    expiry = policy(policy="end_of_period", period=period, after_months=after_months)
    assert lot_date(expiry, earned) == expires  # type: ignore[arg-type]


def test_the_day_earned_is_the_programmes_local_day() -> None:
    zone = "Pacific/Auckland"  # 13 hours ahead of UTC in January
    expiry = expiry_policy(PointsExpiry(policy="days_after_earning", days=1), zone)
    assert expiry is not None
    late_utc = datetime(2026, 1, 10, 20, 0, tzinfo=UTC)  # already the 11th in Auckland
    assert expiry.expires_on(late_utc) == "2026-01-12"
    assert day_start(date(2026, 1, 12), ZoneInfo(zone)) == datetime(2026, 1, 11, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "fields",
    [
        {"policy": "days_after_earning"},
        {"policy": "end_of_period", "period": "month"},
        {"policy": "never", "days": 3},
        {"policy": "days_after_earning", "days": 3, "period": "year"},
    ],
)
def test_a_policy_without_its_fields_or_with_others_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="policy"):
        PointsExpiry.model_validate(fields)


def test_a_batchs_lot_dates_are_the_policies_own_whatever_the_order_asked() -> None:
    """`LotDates` remembers dates by policy and local day: instants either side of a local
    midnight and of a daylight-saving change, two policies, the same instant twice in a row."""
    berlin = expiry_policy(PointsExpiry(policy="days_after_earning", days=30), "Europe/Berlin")
    monthly = expiry_policy(
        PointsExpiry(policy="end_of_period", period="month", after_months=0), "UTC"
    )
    assert berlin is not None
    assert monthly is not None
    instants = [
        datetime(2026, 3, 28, 22, 59, 59, tzinfo=UTC),  # 23:59:59 in Berlin (UTC+1)
        datetime(2026, 3, 28, 23, 0, tzinfo=UTC),  # the next local day
        datetime(2026, 3, 29, 21, 59, 59, tzinfo=UTC),  # after the change: 23:59:59 (UTC+2)
        datetime(2026, 3, 29, 22, 0, tzinfo=UTC),
        datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC),
        datetime(2026, 4, 1, tzinfo=UTC),
    ]
    dates = LotDates()
    for instant in instants + instants[::-1]:
        for expiry in (berlin, monthly, berlin):
            assert dates.expires_on(expiry, instant) == expiry.expires_on(instant)
            assert dates.expires_on(expiry, instant) == expiry.expires_on(instant)

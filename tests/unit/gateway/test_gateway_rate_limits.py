"""The per-partner moving one-minute window: exact counts, Retry-After, one partner at a time."""

import pytest

from gateway.errors import RateLimited
from gateway.rate_limits import MovingWindow, PartnerRateLimits


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_window_accepts_its_limit_then_waits_for_the_oldest_to_age_a_minute() -> None:
    window = MovingWindow(3)
    assert [window.hit(t) for t in (0.0, 10.0, 20.0)] == [0.0, 0.0, 0.0]
    assert window.hit(30.0) == pytest.approx(30.0)  # the hit at 0 leaves the window at 60
    assert window.hit(60.0) == 0.0
    assert window.hit(65.0) == pytest.approx(5.0)  # now the hit at 10 is the oldest
    assert window.hit(70.0) == 0.0


def test_a_refused_hit_is_not_counted() -> None:
    window = MovingWindow(1)
    assert window.hit(0.0) == 0.0
    for t in range(1, 60):
        assert window.hit(float(t)) > 0
    assert window.hit(60.0) == 0.0


def test_past_the_rate_the_partner_is_told_when_to_retry() -> None:
    clock = Clock()
    limits = PartnerRateLimits(clock)
    limits.check("demo", "mgpass", 2)
    clock.now += 0.5
    limits.check("demo", "mgpass", 2)
    clock.now += 10
    with pytest.raises(RateLimited) as refused:
        limits.check("demo", "mgpass", 2)
    assert refused.value.headers == {"Retry-After": "50"}
    limits.check("demo", "other-partner", 2)
    limits.check("other-programme", "mgpass", 2)
    clock.now += 50
    limits.check("demo", "mgpass", 2)


def test_a_changed_limit_takes_effect_at_once() -> None:
    limits = PartnerRateLimits(Clock())
    limits.check("demo", "mgpass", 1)
    with pytest.raises(RateLimited):
        limits.check("demo", "mgpass", 1)
    limits.check("demo", "mgpass", 5)


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        MovingWindow(0)

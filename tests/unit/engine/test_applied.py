"""AppliedWindow: exactly the newest entries, whatever mix of shared and copied dicts holds them."""

import pytest

from processors.engine.applied import RECENT_MAX, AppliedWindow


def _filled(size: int, count: int) -> AppliedWindow[int]:
    window: AppliedWindow[int] = AppliedWindow(size, {}, {})
    for number in range(count):
        window = window.with_entry(f"e{number}", number)
    return window


@pytest.mark.parametrize("count", [0, 1, 5, 32, 33, 40, 41, 100, 32 + RECENT_MAX * 3 + 1])
def test_holds_exactly_the_newest_entries_in_order(count: int) -> None:
    window = _filled(32, count)
    newest = {f"e{n}": n for n in range(max(0, count - 32), count)}
    assert dict(window.items()) == window.as_dict() == newest
    assert list(window) == list(newest)
    assert len(window) == len(newest)
    for number in range(count):
        key = f"e{number}"
        assert (key in window) == (key in newest)
        assert window.get(key) == newest.get(key)


def test_writes_never_change_the_window_written_to() -> None:
    before = _filled(4, 11)
    snapshot = before.as_dict()
    for number in range(20):
        before.with_entry(f"new{number}", -number)
    assert before.as_dict() == snapshot


def test_an_entry_that_left_the_window_can_come_back() -> None:
    window = _filled(4, 6).with_entry("e0", 99)  # e0 left the window, is still in `settled`
    assert window.as_dict() == {"e3": 3, "e4": 4, "e5": 5, "e0": 99}
    for number in range(RECENT_MAX + 1):
        window = window.with_entry(f"x{number}", number)
    assert "e0" not in window
    assert len(window) == 4


def test_of_keeps_the_newest_and_equals_a_plain_mapping() -> None:
    window = AppliedWindow.of(3, {"a": 1, "b": 2, "c": 3, "d": 4})
    assert window == {"b": 2, "c": 3, "d": 4}
    with pytest.raises(KeyError):
        window["a"]

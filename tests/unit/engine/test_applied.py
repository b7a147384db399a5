"""AppliedWindow: exactly the newest entries, whichever shared log holds them."""

import pytest

from processors.engine.applied import LOG_MAX, AppliedWindow


def _filled(size: int, count: int) -> AppliedWindow[int]:
    window: AppliedWindow[int] = AppliedWindow.empty(size)
    for number in range(count):
        window = window.with_entry(f"e{number}", number)
    return window


@pytest.mark.parametrize("count", [0, 1, 5, 32, 33, 40, 41, 100, 32 + LOG_MAX * 3 + 1])
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
    for number in range(LOG_MAX + 1):
        window = window.with_entry(f"x{number}", number)
    assert "e0" not in window
    assert len(window) == 4


def test_of_keeps_the_newest_and_equals_a_plain_mapping() -> None:
    window = AppliedWindow.of(3, {"a": 1, "b": 2, "c": 3, "d": 4})
    assert window == {"b": 2, "c": 3, "d": 4}
    with pytest.raises(KeyError):
        window["a"]


def test_two_writes_to_one_window_give_independent_windows() -> None:
    parent = _filled(4, 6)
    first = parent.with_entry("a", 1)  # appends to the shared log
    second = parent.with_entry("b", 2)  # the log moved on: a log of its own
    assert first.as_dict() == {"e3": 3, "e4": 4, "e5": 5, "a": 1}
    assert second.as_dict() == {"e3": 3, "e4": 4, "e5": 5, "b": 2}
    assert parent.as_dict() == {"e2": 2, "e3": 3, "e4": 4, "e5": 5}
    assert "a" not in parent
    assert "a" not in second
    assert "b" not in first
    assert first.with_entry("c", 3).as_dict() == {"e4": 4, "e5": 5, "a": 1, "c": 3}


def test_an_owned_dict_becomes_the_log_and_encoding_sees_only_the_window() -> None:
    entries = {"a": 1, "b": 2}
    window = AppliedWindow.of(4, entries, owned=True)
    assert window.for_encoding() is entries
    newer = window.with_entry("c", 3)
    assert window.as_dict() == {"a": 1, "b": 2}
    assert dict(newer.for_encoding()) == {"a": 1, "b": 2, "c": 3}
    assert dict(AppliedWindow.of(2, {"a": 1, "b": 2, "c": 3}, owned=True).items()) == {
        "b": 2,
        "c": 3,
    }


def test_the_shared_empty_window_is_never_written_to() -> None:
    empty: AppliedWindow[int] = AppliedWindow.empty(4)
    empty.with_entry("a", 1)
    assert len(empty) == 0
    assert "a" not in empty
    assert empty.with_entry("b", 2).as_dict() == {"b": 2}

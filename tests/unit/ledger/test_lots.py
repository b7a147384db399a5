"""Lots (ledger.core.lots): what credits form, what debits take, what expires, and the rules
stored lots keep, under random sequences of movements (hypothesis)."""

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.core.lots import (
    Lots,
    canonical,
    credited,
    debited,
    decode,
    encode,
    expired,
    materialized,
    merged,
    next_due,
    problems,
    total,
)

DAYS = [f"2026-0{month}-{day:02d}" for month in range(1, 4) for day in (1, 15, 28)]
day_or_never = st.one_of(st.none(), st.sampled_from(DAYS))
points = st.integers(min_value=1, max_value=500)


def test_a_programme_without_expiry_stores_nothing() -> None:
    lots, formed = credited(None, 0, 100, None)
    assert (lots, formed) == (None, None)
    lots, taken = debited(None, 100, 30)
    assert (lots, taken) == (None, None)
    assert total(None, 70) == 70
    assert total(None, -5) == 0


def test_credits_of_one_date_are_one_lot_and_dates_stay_in_order() -> None:
    lots, _ = credited(None, 0, 10, (("2026-03-01", 10),))
    lots, _ = credited(lots, 10, 5, (("2026-01-01", 5),))
    lots, _ = credited(lots, 15, 7, (("2026-03-01", 7),))
    lots, _ = credited(lots, 22, 3, None)
    assert lots == (("2026-01-01", 5), ("2026-03-01", 17), (None, 3))
    assert next_due(lots) == "2026-01-01"


def test_a_debit_takes_the_earliest_expiring_first() -> None:
    held: Lots = (("2026-01-01", 5), ("2026-03-01", 17), (None, 3))
    lots, taken = debited(held, 25, 20)
    assert taken == (("2026-01-01", 5), ("2026-03-01", 15))
    assert lots == (("2026-03-01", 2), (None, 3))


def test_expiry_takes_every_lot_due_and_only_those() -> None:
    held: Lots = (("2026-01-01", 5), ("2026-01-15", 6), ("2026-03-01", 17), (None, 3))
    lots, gone = expired(held, "2026-01-15")
    assert gone == (("2026-01-01", 5), ("2026-01-15", 6))
    assert lots == (("2026-03-01", 17), (None, 3))
    again, nothing = expired(lots, "2026-01-15")
    assert (again, nothing) == (lots, ())


def test_a_debt_is_repaid_before_credits_form_lots() -> None:
    lots, formed = credited(None, -30, 50, (("2026-03-01", 20), (None, 30)))
    assert formed == ((None, 20),)
    assert lots is None  # only never-expiring points left: the shorthand
    lots, formed = credited(None, -30, 20, (("2026-03-01", 20),))
    assert formed == ()
    assert lots is None


def test_lots_round_trip_through_their_stored_text() -> None:
    held: Lots = (("2026-01-01", 5), (None, 3))
    assert decode(encode(held)) == held
    assert encode(None) is None
    assert decode(None) is None


def _parsed(text: str) -> Lots:
    """What the general path makes of a text: orjson's tree as lots."""
    return tuple((day, points) for day, points in orjson.loads(text))


@given(st.text(min_size=10, max_size=10), st.integers(min_value=0, max_value=10**12))
def test_one_lot_reads_as_a_json_parse_reads_it(day: str, points: int) -> None:
    """`decode`'s shortcut for one dated lot gives what parsing the text gives, whatever the
    day's characters (quotes and escapes included)."""
    text = encode(((day, points),))
    assert text is not None
    assert decode(text) == _parsed(text) == ((day, points),)


def test_texts_like_one_lot_that_are_not_take_the_general_path() -> None:
    assert decode('[["2027-01-04", 30]]') == (("2027-01-04", 30),)  # spaced, as jsonb printed
    assert decode('[["2027-01-04",-3]]') == (("2027-01-04", -3),)
    assert decode('[["2027-01-04",3],["2027-02-04",4]]') == (("2027-01-04", 3), ("2027-02-04", 4))
    assert decode('[["2027-1-4",3]]') == (("2027-1-4", 3),)
    assert decode("[[null,3]]") == ((None, 3),)
    with pytest.raises(ValueError, match="leading zero"):
        decode('[["2027-01-04",03]]')
    with pytest.raises(ValueError, match="malformed lot points"):
        decode('[["2027-01-04",3.5]]')
    with pytest.raises(ValueError, match="unexpected end"):
        decode('[["2027-01-04",3]')


def test_stored_lots_that_break_the_rules_are_named() -> None:
    assert problems((("2026-01-01", 5),), 5) == []
    assert problems(None, 7) == []
    assert problems((("2026-01-01", 5),), 6) == ["lots hold 5 points, the available balance is 6"]
    assert "lot 2026-01-01 is out of order" in problems((("2026-02-01", 1), ("2026-01-01", 1)), 2)
    assert problems(((None, 4),), 4) == [
        "lots stored where none expire (the account stores nothing then)"
    ]


operation = st.one_of(
    st.tuples(st.just("credit"), points, day_or_never),
    st.tuples(st.just("debit"), points, st.none()),
    st.tuples(st.just("expire"), st.just(0), st.sampled_from(DAYS)),
    st.tuples(st.just("transfer"), points, st.none()),
)


@given(st.lists(operation, max_size=60))
def test_lots_always_hold_the_available_balance_in_order(
    operations: list[tuple[str, int, str | None]],
) -> None:
    """Two accounts, moved by random credits, debits (never below zero), expiries and
    transfers: the sum of open lots is the available balance; a debit never takes a lot while
    an earlier-expiring one is open; no lot expires twice or after being spent."""
    accounts: list[tuple[Lots | None, int]] = [(None, 0), (None, 0)]
    credited_by_day: dict[str | None, int] = {}
    gone_by_day: dict[str | None, int] = {}
    for step, (kind, amount, day) in enumerate(operations):
        index = step % 2
        lots, balance = accounts[index]
        if kind == "credit":
            incoming = None if day is None else ((day, amount),)
            lots, formed = credited(lots, balance, amount, incoming)
            for lot_day, lot_points in materialized(formed, amount):
                credited_by_day[lot_day] = credited_by_day.get(lot_day, 0) + lot_points
            balance += amount
        elif kind in ("debit", "transfer"):
            amount = min(amount, balance)
            if amount == 0:
                continue
            before = materialized(lots, balance)
            lots, taken = debited(lots, balance, amount)
            took = materialized(taken, amount)
            _assert_earliest_first(before, took)
            balance -= amount
            if kind == "transfer":
                other_lots, other_balance = accounts[1 - index]
                other_lots, _ = credited(other_lots, other_balance, amount, taken)
                accounts[1 - index] = (other_lots, other_balance + amount)
            else:
                for lot_day, lot_points in took:
                    gone_by_day[lot_day] = gone_by_day.get(lot_day, 0) + lot_points
        else:
            assert day is not None
            lots, gone = expired(lots, day)
            assert all(lot_day is not None and lot_day <= day for lot_day, _ in gone)
            assert all(lot_day is None or lot_day > day for lot_day, _ in lots or ())
            for lot_day, lot_points in gone:
                gone_by_day[lot_day] = gone_by_day.get(lot_day, 0) + lot_points
            balance -= sum(lot_points for _, lot_points in gone)
        accounts[index] = (lots, balance)
        for held, held_balance in accounts:
            assert problems(held, held_balance) == []
            assert total(held, held_balance) == max(held_balance, 0)
    # Nothing leaves a date's lots that was not credited to it: no lot expires twice, none
    # after its points were spent.
    for lot_day, gone_points in gone_by_day.items():
        assert gone_points <= credited_by_day.get(lot_day, 0)


def _assert_earliest_first(before: Lots, took: Lots) -> None:
    """What a debit took is the front of the lots it took from: every lot taken in full but
    possibly the last, and nothing of a later lot while an earlier one is left."""
    for index, (day, taken_points) in enumerate(took):
        assert before[index][0] == day
        if index < len(took) - 1:
            assert before[index][1] == taken_points


@given(
    st.lists(st.tuples(day_or_never, points), max_size=8),
    st.lists(st.tuples(day_or_never, points), max_size=8),
)
def test_merging_keeps_one_lot_per_date_in_order(
    left: list[tuple[str | None, int]], right: list[tuple[str | None, int]]
) -> None:
    a = _normalised(left)
    b = _normalised(right)
    both = merged(a, b)
    assert sum(p for _, p in both) == sum(p for _, p in a) + sum(p for _, p in b)
    assert problems(canonical(both), sum(p for _, p in both)) == []


def _normalised(pairs: list[tuple[str | None, int]]) -> Lots:
    by_day: dict[str | None, int] = {}
    for day, amount in pairs:
        by_day[day] = by_day.get(day, 0) + amount
    dated: list[tuple[str | None, int]] = sorted(
        (day, amount) for day, amount in by_day.items() if day is not None
    )
    never: list[tuple[str | None, int]] = [(None, by_day[None])] if None in by_day else []
    return tuple(dated + never)

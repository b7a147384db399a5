"""How an entry journals a side's lot movement (ledger.core.rows, migration 0201): one dated lot
of all the entry's points as its day alone, anything else as the lots; read back the same."""

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from ledger.core.lots import Lots, decode, encode
from ledger.core.rows import journalled, movement

DAYS = [f"2026-0{month}-{day:02d}" for month in range(1, 4) for day in (1, 15, 28)]
day_or_never = st.one_of(st.none(), st.sampled_from(DAYS))


def test_one_dated_lot_of_all_the_points_is_its_day() -> None:
    assert journalled((("2026-03-11", 30),), 30) == (None, date(2026, 3, 11))


def test_every_other_movement_keeps_its_lots() -> None:
    part = (("2026-03-11", 20),)  # a credit that first repaid a debt of 10
    never = ((None, 30),)  # never-expiring points beside dated ones: a return prefers them
    several = (("2026-03-11", 20), ("2026-03-13", 10))
    for lots in (part, never, several):
        assert journalled(lots, 30) == (lots, None)


@given(
    st.lists(st.tuples(day_or_never, st.integers(min_value=1, max_value=500)), min_size=1),
    st.integers(min_value=0, max_value=100),
)
def test_a_movement_reads_back_as_it_was_planned(
    pairs: list[tuple[str | None, int]], extra: int
) -> None:
    lots: Lots = tuple(pairs)
    points = sum(moved for _, moved in lots) + extra
    stored, day = journalled(lots, points)
    assert (stored is None) != (day is None)
    # As Postgres gives the columns back: json text decoded, the day a date.
    text = encode(stored)
    assert movement(decode(text), day, points) == lots

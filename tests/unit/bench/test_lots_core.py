"""`bench.lots_core` at a small size: both rounds plan and write every booking of the batch (none
refused: the users' balances cover the debits), only the round with lots journals lot movements
(one per entry), and the figures are CPU per booking."""

from bench.lots_core import batch, measure, round_of


def test_both_rounds_book_every_command_of_the_batch() -> None:
    incoming = batch(200)
    assert round_of(incoming, with_lots=True)() == (200, 200)
    assert round_of(incoming, with_lots=False)() == (200, 0)


def test_the_figures_are_microseconds_per_booking() -> None:
    with_lots, without = measure(200, rounds=2)
    assert 0 < with_lots < 10_000
    assert 0 < without < 10_000

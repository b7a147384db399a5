"""The balance reads' holdings (ledger.reads.find_holdings) on the real Postgres: the balance,
what of it can be spent, and the lots that expire next with the programme's midnight of each."""

from datetime import UTC, date, datetime

import asyncpg
import pytest

from ledger.reads import Expiring, find_holdings
from tests.integration.ledger.conftest import apply
from tests.integration.ledger.test_expiry import earn, expiring_programme
from tests.unit.ledger.fixtures import booking, command

pytestmark = pytest.mark.integration


async def test_holdings_list_the_lots_that_expire_earliest_first(
    ledger_pool: asyncpg.Pool,
) -> None:
    prog = await expiring_programme(ledger_pool, time_zone="Pacific/Auckland")
    assert await find_holdings(ledger_pool, prog, "nobody") is None
    # Earned at 12:00 UTC: the next local day in Auckland; due 10 days after it.
    await earn(ledger_pool, prog, "alice", 30, date(2026, 3, 1))  # due 2026-03-12
    await earn(ledger_pool, prog, "alice", 20, date(2026, 3, 5))  # due 2026-03-16
    spend = booking(f"{prog}-spend", 10, debit=True)
    await apply(ledger_pool, command(f"{prog}-spend", "alice", spend, programme_id=prog))
    holdings = await find_holdings(ledger_pool, prog, "alice")
    assert holdings is not None
    assert (holdings.balance, holdings.available) == (40, 40)
    # The earliest lot paid the spending; Auckland's midnight beginning 12 March (NZDT, +13)
    # is 11:00 UTC on the 11th.
    assert holdings.expiring == [
        Expiring(date(2026, 3, 12), datetime(2026, 3, 11, 11, tzinfo=UTC), 20),
        Expiring(date(2026, 3, 16), datetime(2026, 3, 15, 11, tzinfo=UTC), 20),
    ]
    first = await find_holdings(ledger_pool, prog, "alice", expiring_max=1)
    assert first is not None
    assert [e.points for e in first.expiring] == [20]
    with pytest.raises(ValueError, match="expiring_max"):
        await find_holdings(ledger_pool, prog, "alice", expiring_max=0)


async def test_points_that_never_expire_are_available_but_not_listed(
    ledger_pool: asyncpg.Pool,
) -> None:
    prog = await expiring_programme(ledger_pool, expiry={"policy": "never"})
    await earn(ledger_pool, prog, "bob", 7, date(2026, 3, 1))
    holdings = await find_holdings(ledger_pool, prog, "bob")
    assert holdings is not None
    assert (holdings.balance, holdings.available, holdings.expiring) == (7, 7, [])

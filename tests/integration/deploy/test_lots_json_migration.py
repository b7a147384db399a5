"""Migration 0200 (the lot columns as json) carries over the lots stored before it: a database
migrated up to 0191 with a user's lots and an entry's lot movements in it is migrated on; the
lots read back the same, the check of their shape still refuses a non-array, and the ledger
check's lot check (json_array_elements over them) still adds up the entries' movements: the
lot the entry formed matches, the lot no entry formed does not."""

from pathlib import Path

import asyncpg
import pytest

from deploy import db
from deploy.local import postgres
from deploy.local.settings import LocalSettings
from ledger.check import check_ledger
from ledger.core.lots import decode
from ledger.core.reconciliation import Check
from tests.conftest import TEST_DATABASE
from tests.integration.deploy.migrated import migrated_up_to

pytestmark = pytest.mark.integration
MIGRATION = "0200_lots_as_json.sql"
LOTS = '[["2026-04-01", 30], [null, 12]]'
ROWS_BEFORE = f"""
INSERT INTO programmes (programme_id, name, budget_mode, config, config_version)
VALUES ('p1', 'p1', 'unfunded', '{{}}', 1);
INSERT INTO ledger.accounts (account_id, programme_id, kind, owner_id, balance, lots,
    lots_next_due)
OVERRIDING SYSTEM VALUE
VALUES (1, 'p1', 'budget', '', -42, NULL, NULL),
       (2, 'p1', 'user', 'ann', 42, '{LOTS}', '2026-04-01'),
       (3, 'p1', 'user', 'bob', 0, '[["2026-05-01", 5]]', '2026-05-01');
INSERT INTO ledger.entries (idempotency_key, payload_sha256, command_id, programme_id, user_id,
    transaction_type, variety, points, debit_account_id, credit_account_id,
    debit_balance_after, credit_balance_after, reason, credit_lots)
VALUES ('e1', sha256('e1'), 'c1', 'p1', 'ann', 'Credit', 'Programme Points', 42, 1, 2, -42, 42,
        'test', '{LOTS}');
"""


async def test_the_migration_keeps_the_lots_stored_before_it(
    postgres_server: LocalSettings, tmp_path: Path
) -> None:
    name = f"{TEST_DATABASE}_lots_migration"
    url = migrated_up_to(postgres_server, name, MIGRATION, tmp_path)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(ROWS_BEFORE)
        assert db.migrate(url) >= 1
        types = await conn.fetch(
            """SELECT table_name, column_name, data_type FROM information_schema.columns
               WHERE table_schema = 'ledger' AND table_name IN ('accounts', 'entries')
                 AND column_name IN ('lots', 'debit_lots', 'credit_lots')
               ORDER BY table_name, column_name"""
        )
        assert [tuple(row) for row in types] == [
            ("accounts", "lots", "json"),
            ("entries", "credit_lots", "json"),
            ("entries", "debit_lots", "json"),
        ]
        lots = await conn.fetchval("SELECT lots FROM ledger.accounts WHERE account_id = 2")
        credit = await conn.fetchval("SELECT credit_lots FROM ledger.entries")
        assert decode(lots) == decode(credit) == (("2026-04-01", 30), (None, 12))
        report = await check_ledger(conn, "p1")
        (lots_check,) = [result for result in report.results if result.check is Check.LOTS]
        assert lots_check.examples == (
            "account 3 (p1 user bob): lots hold 5 points, the available balance is 0",
            "account 3 (p1 user bob): lot 2026-05-01 holds 5, its entries add up to 0",
        )
        with pytest.raises(asyncpg.CheckViolationError, match="accounts_lots_check"):
            await conn.execute("UPDATE ledger.accounts SET lots = '{}' WHERE account_id = 2")
    finally:
        await conn.close()
        postgres.drop_database(postgres_server, name)

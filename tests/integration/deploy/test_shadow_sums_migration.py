"""Migration 0191 (a shadow run's sums) adds up the decisions stored before it: a database
migrated up to 0180 with a run's decisions in it is migrated on, and the run's points, live
points and users affected are those of its decisions, per user too."""

from pathlib import Path

import asyncpg
import pytest

from deploy import db
from deploy.local import postgres
from deploy.local.settings import LocalSettings
from tests.conftest import TEST_DATABASE
from tests.integration.deploy.migrated import migrated_up_to

pytestmark = pytest.mark.integration
MIGRATION = "0191_shadow_run_summaries.sql"
ROWS_BEFORE = """
INSERT INTO programmes (programme_id, name, budget_mode, config, config_version)
VALUES ('p1', 'p1', 'unfunded', '{}', 1);
INSERT INTO shadow_runs (run_id, programme_id, candidate, candidate_version, status, started_by,
    start_snapshot, start_tx, position_tx, decisions)
OVERRIDING SYSTEM VALUE
SELECT run_id, 'p1', '{}', 2, 'running', 'test', pg_current_snapshot(), '1', '1', decisions
FROM (VALUES (1, 4), (2, 0)) AS runs (run_id, decisions);
CREATE TABLE shadow_decisions_1 PARTITION OF shadow_decisions FOR VALUES IN (1);
INSERT INTO shadow_decisions (run_id, event_id, seq, occurred_at, user_id, event_type, points,
    awards, tier, live_points, live_awards, live_tier, booked, reproduced)
SELECT 1, event_id, seq, now(), user_id, 'visit', points, '{}', NULL, live_points, '{}', NULL,
       true, true
FROM (VALUES ('e1', 1, 'ann', 20, 10), ('e2', 2, 'ann', -10, 0), ('e3', 3, 'bob', 3, 0),
             ('e4', 4, 'cy', 0, 0)) AS decided (event_id, seq, user_id, points, live_points);
"""


async def test_the_migration_adds_up_the_decisions_stored_before_it(
    postgres_server: LocalSettings, tmp_path: Path
) -> None:
    name = f"{TEST_DATABASE}_shadow_migration"
    url = migrated_up_to(postgres_server, name, MIGRATION, tmp_path)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(ROWS_BEFORE)
        assert db.migrate(url) >= 1
        runs = await conn.fetch(
            """SELECT run_id, decisions, points, live_points, users_affected FROM shadow_runs
               ORDER BY run_id"""
        )
        assert [tuple(run) for run in runs] == [(1, 4, 13, 10, 1), (2, 0, 0, 0, 0)]
        users = await conn.fetch(
            "SELECT user_id, points, live_points FROM shadow_user_points ORDER BY user_id"
        )
        assert [tuple(user) for user in users] == [("ann", 10, 10), ("bob", 3, 0), ("cy", 0, 0)]
    finally:
        await conn.close()
        postgres.drop_database(postgres_server, name)

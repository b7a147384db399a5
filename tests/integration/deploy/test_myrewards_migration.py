"""Migration 0080 (MyRewards ids per programme, claims that earn) keeps every row stored before
it: a database migrated up to 0050 with MyRewards rows in it is migrated on, and its rows are all
there, now keyed by programme, so another programme may take the same ids."""

from pathlib import Path

import asyncpg
import pytest

from deploy import db
from deploy.local import postgres
from deploy.local.settings import LocalSettings
from tests.conftest import TEST_DATABASE
from tests.integration.deploy.migrated import migrated_up_to

pytestmark = pytest.mark.integration
MIGRATION = "0080_myrewards_claims_earn.sql"
ROWS_BEFORE = """
INSERT INTO programmes (programme_id, name, budget_mode, config, config_version)
VALUES ('p1', 'p1', 'unfunded', '{}', 1), ('p2', 'p2', 'unfunded', '{}', 1);
INSERT INTO myrewards_user_groups (user_group_id, programme_id, name) VALUES (1, 'p1', 'root');
INSERT INTO myrewards_user_groups (user_group_id, programme_id, name, parent_id)
VALUES (2, 'p1', 'child', 1);
INSERT INTO myrewards_registration_questions (question_id, programme_id, label, field_type,
    field_name) VALUES (5, 'p1', 'Why?', 'text', 'why');
INSERT INTO myrewards_users (user_id, programme_id, identity_key, firstname, lastname, tsandcs,
    user_group_id) VALUES (77, 'p1', 'ann', 'Ann', 'A', true, 2);
INSERT INTO myrewards_registration_answers (user_id, question_id, answer) VALUES (77, 5, 'x');
INSERT INTO myrewards_promotions (promotion_id, programme_id, name) VALUES (1, 'p1', 'Autumn');
INSERT INTO myrewards_data_fields (data_field_id, programme_id, promotion_id, name, field_type,
    selector) VALUES (9, 'p1', 1, 'When', 'date', 'when');
INSERT INTO myrewards_claims (programme_id, promotion_id, user_id, date_of_sale,
    product_or_activity, quantity) VALUES ('p1', 1, 77, '2020-01-01', 'SKU', 2);
"""


async def test_the_migration_keeps_the_rows_and_frees_their_ids(
    postgres_server: LocalSettings, tmp_path: Path
) -> None:
    name = f"{TEST_DATABASE}_migration"
    url = migrated_up_to(postgres_server, name, MIGRATION, tmp_path)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(ROWS_BEFORE)
        assert db.migrate(url) >= 1
        claim = await conn.fetchrow(
            "SELECT status, points, command_id, quantity FROM myrewards_claims"
        )
        assert claim is not None
        assert dict(claim) == {"status": "stored", "points": 0, "command_id": None, "quantity": 2}
        answer = await conn.fetchrow("SELECT * FROM myrewards_registration_answers")
        assert answer is not None
        assert (answer["programme_id"], answer["question_id"]) == ("p1", 5)
        parent = await conn.fetchval(
            "SELECT parent_id FROM myrewards_user_groups WHERE programme_id = 'p1' "
            "AND user_group_id = 2"
        )
        assert parent == 1
        # Another programme takes the same ids, and cannot point at p1's rows.
        await conn.execute(
            """INSERT INTO myrewards_user_groups (user_group_id, programme_id, name)
               VALUES (1, 'p2', 'root of p2');
               INSERT INTO myrewards_promotions (promotion_id, programme_id, name)
               VALUES (1, 'p2', 'Spring')"""
        )
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await conn.execute(
                """INSERT INTO myrewards_data_fields (data_field_id, programme_id, promotion_id,
                   name, field_type, selector) VALUES (9, 'p2', 2, 'x', 'date', 'x')"""
            )
    finally:
        await conn.close()
        postgres.drop_database(postgres_server, name)

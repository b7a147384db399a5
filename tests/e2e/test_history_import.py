"""`loyalty-admin import-events` against the running system: history older than the programme's
event-time policy is booked once however often its file is imported, and bad rows are refused
with their line numbers."""

import asyncio
import os
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest

from deploy.local.paths import REPO
from deploy.local.settings import LocalSettings
from tests.e2e.conftest import DATABASE, Credentials, RunTopics, new_user

pytestmark = pytest.mark.e2e
BALANCE_WAIT_S = 60.0


def history(user_id: str, reference: str) -> list[bytes]:
    """Two good rows a year and a month old (40 and 5 points), four bad ones, a blank line and a
    good zero-point one."""
    month_ago = (datetime.now(UTC) - timedelta(days=30)).isoformat()

    def row(**fields: object) -> bytes:
        return orjson.dumps({"programme_id": "e2e", "user_id": user_id} | fields)

    return [
        row(event_type="purchase", occurred_at="2025-03-01T10:00:00Z", partner_id="e2e-partner",
            reference_id=reference, metadata={"amount": 40}),
        row(event_type="article_read", occurred_at=month_ago),
        row(event_type="dance", occurred_at=month_ago),
        row(event_type="article_read", occurred_at="2025-03-01T10:00:00"),
        b"{not json",
        row(event_type="purchase", occurred_at=month_ago, metadata={}),
        b"",
        row(event_type="comment", occurred_at=month_ago, partner_id="e2e-partner"),
    ]  # fmt: skip


async def import_events(
    path: Path, settings: LocalSettings, kafka_bootstrap: str, topic: str
) -> tuple[int, str, str]:
    """Runs the command as an operator would; its exit status, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.admin.cli", "import-events", str(path), "--topic", topic,
        cwd=REPO,
        env=os.environ | {
            "LOYALTY_DATABASE_URL": settings.database_url(DATABASE),
            "LOYALTY_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def balance_reaches(
    gateway: httpx.AsyncClient, api_key: str, user_id: str, expected: int
) -> int:
    """The user's balance once it is `expected`, or what it is after `BALANCE_WAIT_S`."""
    found = -1
    async with asyncio.timeout(BALANCE_WAIT_S):
        while found != expected:
            answer = await gateway.get(
                f"/api/partner/users/{user_id}/balance", headers={"X-API-Key": api_key}
            )
            # 404 until the user's first booking
            found = answer.json()["balance"] if answer.status_code == 200 else 0
            if found != expected:
                await asyncio.sleep(0.2)
    return found


async def test_history_is_booked_once_and_bad_rows_are_refused_by_line(
    gateway: httpx.AsyncClient,
    credentials: Credentials,
    system: tuple[LocalSettings, Credentials],
    kafka_bootstrap: str,
    session_topics: RunTopics,
    tmp_path: Path,
) -> None:
    user_id = new_user()
    path = tmp_path / "history.jsonl"
    path.write_bytes(b"\n".join(history(user_id, f"order-{uuid.uuid4().hex}")) + b"\n")

    for _ in range(2):
        status, out, err = await import_events(
            path, system[0], kafka_bootstrap, session_topics.events
        )
        assert status == 2, (out, err)
        assert "3 events published" in out, out
        assert "4 rows refused" in out, out
        refusals = err.splitlines()
        assert [line.split(":")[0] for line in refusals] == ["line 3", "line 4", "line 5", "line 6"]
        assert "event_type: 'dance' is not an event type of programme 'e2e'" in refusals[0]
        assert "occurred_at: Input should have timezone info" in refusals[1]
        assert "row: Invalid JSON" in refusals[2]
        assert "metadata: mandatory parameter 'amount' is missing" in refusals[3]
        assert await balance_reaches(gateway, credentials.partner, user_id, 45) == 45

    # A live event of the same user goes to the same partition after the second import's
    # records: once it is booked, they have been decided too.
    live = {"user_id": user_id, "event_type": "article_read"}
    response = await gateway.post(
        "/api/partner/events", json=live, headers={"X-API-Key": credentials.partner}
    )
    assert response.json()["points_awarded"] == 5
    transactions = await gateway.get(
        f"/api/partner/users/{user_id}/transactions",
        params={"numOfItems": 100},
        headers={"X-API-Key": credentials.partner},
    )
    assert transactions.json()["totalCount"] == 3
    assert [t["value"] for t in transactions.json()["transactions"]] == [40, 5, 5]
    assert await balance_reaches(gateway, credentials.partner, user_id, 50) == 50


async def test_an_import_of_a_missing_file_is_a_one_line_error(
    system: tuple[LocalSettings, Credentials],
    kafka_bootstrap: str,
    session_topics: RunTopics,
    tmp_path: Path,
) -> None:
    missing = tmp_path / "nothing.jsonl"
    status, out, err = await import_events(
        missing, system[0], kafka_bootstrap, session_topics.events
    )
    assert (status, out) == (2, "")
    assert err == f"error: import-events: cannot read {missing}: No such file or directory\n"

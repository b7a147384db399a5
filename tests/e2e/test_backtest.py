"""Backtests on a real history: events decided by the running processors, booked and archived by
the ledger writer, with caps, a frequency limit, a streak, tiers and a configuration change in
the middle. The configuration in force reproduces the journal's booked totals exactly; a
candidate that doubles one rule doubles exactly that rule's points; `loyalty-admin backtest`
prints the report and writes its HTML."""

import asyncio
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import orjson
import pytest
import yaml
from aiokafka import AIOKafkaProducer

from deploy.local.paths import log_file
from deploy.local.settings import LocalSettings
from evidence.backtest import backtest
from gateway.admin.cli import AdminSettings, load_programmes
from ledger import reads
from schemas.programme import ProgrammeConfig
from schemas.topics import user_key
from tests.e2e.conftest import DATABASE, PREFIX, PROGRAMMES, Credentials, RunTopics, admin_cli

pytestmark = pytest.mark.e2e
PROGRAMME = "backtest"
USERS = [f"bt-{index}" for index in range(6)]
DAYS = 5
SETTLED_WITHIN_S = 120.0


def events_of_day(day: datetime, number: int) -> list[tuple[str, dict[str, object]]]:
    """(user, event) of one day: three reads (the third cut by the daily cap), two logins (the
    second refused by the daily frequency), a purchase; Gold for two users from day 2."""
    found: list[tuple[str, dict[str, object]]] = []
    for user in USERS:
        nothing: dict[str, object] = {}
        kinds = [("read", nothing)] * 3 + [("login", nothing)] * 2
        kinds.append(("buy", {"amount": 3 + number}))
        if number == 2 and user in USERS[:2]:
            kinds.insert(0, ("tier.assigned", {"tier": "Gold"}))
        for offset, (kind, metadata) in enumerate(kinds):
            found.append((user, {
                "event_id": f"evt_bt_{uuid.uuid4().hex}", "programme_id": PROGRAMME,
                "user_id": user, "event_type": kind, "metadata": metadata,
                "occurred_at": (day + timedelta(minutes=offset)).isoformat(),
            }))  # fmt: skip
    return found


def version(config: ProgrammeConfig, number: int, **points: int) -> ProgrammeConfig:
    """The programme with another version number and some rules' points changed."""
    data = config.model_dump(mode="json")
    data["version"] = number
    for rule in data["rules"]:
        if rule["rule_id"] in points:
            rule["points"] = points[rule["rule_id"]]
            rule["version"] += 1
    return ProgrammeConfig.model_validate(data)


def written(path: Path, config: ProgrammeConfig) -> Path:
    path.write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
    return path


def first_day(days: int) -> datetime:
    """06:00 UTC of the first of `days` days that all lie in the past (the last is yesterday),
    so the history is inside the event-time policy at any hour the test runs."""
    today = datetime.now(UTC).replace(hour=6, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days)


async def processors_hold(programme: str, number: int) -> None:
    """Until the session's processors have installed version `number` (they log it): the
    configuration reaches them on its own topic, so events sent at once may still be decided
    under the version before."""
    log = log_file(f"{PREFIX}processors")
    line = f"programme {programme} now at version {number}"
    deadline = asyncio.get_running_loop().time() + SETTLED_WITHIN_S
    while line not in log.read_text(errors="replace"):
        assert asyncio.get_running_loop().time() < deadline, f"the processors never logged {line!r}"
        await asyncio.sleep(0.2)


async def archived(url: str, programme: str = PROGRAMME) -> int:
    connection = await asyncpg.connect(url)
    try:
        return await reads.count_archived(connection, programme)
    finally:
        await connection.close()


async def test_a_backtest_of_a_real_history(
    system: tuple[LocalSettings, Credentials],
    session_topics: RunTopics,
    kafka_bootstrap: str,
    tmp_path: Path,
) -> None:
    url = system[0].database_url(DATABASE)
    admin = AdminSettings(
        kafka_bootstrap_servers=kafka_bootstrap, database_url=url,
        config_topic=session_topics.config,
    )  # fmt: skip
    first = ProgrammeConfig.model_validate(
        yaml.safe_load((PROGRAMMES / "backtest.yaml").read_text())
    )
    start = first_day(DAYS)
    produced = 0
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for number in range(DAYS):
            if number == 3:  # read pays 6 from version 2 on
                await load_programmes(
                    admin, [written(tmp_path / "v2.yaml", version(first, 2, read=6))]
                )
                await processors_hold(PROGRAMME, 2)
            for user, event in events_of_day(start + timedelta(days=number), number):
                await producer.send_and_wait(
                    session_topics.events, orjson.dumps(event), key=user_key(PROGRAMME, user)
                )
                produced += 1
    finally:
        await producer.stop()
    deadline = asyncio.get_running_loop().time() + SETTLED_WITHIN_S
    while await archived(url) < produced:
        assert asyncio.get_running_loop().time() < deadline, "not all events were archived"
        await asyncio.sleep(0.5)

    doubled = version(first, 3, read=6, buy=2)
    async with asyncpg.create_pool(url, min_size=1, max_size=2) as pool:
        whole = await backtest(pool, PROGRAMME, doubled)
        since = start + timedelta(days=2)
        window = await backtest(pool, PROGRAMME, doubled, since=since)
        versions = {row["programme_version"] for row in await pool.fetch(
            "SELECT DISTINCT programme_version FROM ledger.decided_events WHERE programme_id = $1",
            PROGRAMME,
        )}  # fmt: skip
    assert versions == {1, 2}
    for report in (whole, window):
        assert report.reproduces, report.mismatch_examples
        assert report.current.booked == report.ledger_booked_total
        current, candidate = report.current.by_rule, report.candidate.by_rule
        assert candidate["buy"] == 2 * current["buy"]
        for rule in ("read", "login", "login-streak"):
            assert candidate[rule] == current[rule], rule
    assert whole.events == produced
    assert whole.current.by_rule["login-streak"] > 0
    assert whole.current.by_tier["Gold"] > 0
    assert window.history_events == 2 * len(USERS) * 6
    assert window.current.booked < whole.current.booked

    html = tmp_path / "report.html"
    run = await admin_cli(
        {**os.environ, "LOYALTY_DATABASE_URL": url},
        "backtest", "--programme", PROGRAMME,
        "--candidate", str(written(tmp_path / "v3.yaml", doubled)), "--html", str(html),
        timeout_s=120,
    )  # fmt: skip
    assert run.status == 0, run.stderr
    assert "reproduces what was booked" in run.stdout
    assert "By rule" in run.stdout
    assert "<svg" in html.read_text()

"""Shadow runs on the real services: `loyalty-admin shadow start` with a candidate that doubles
one rule and with the configuration in force; events published through Kafka are decided and
booked by the live pipeline and shadowed by `loyalty-shadow`. The report shows exactly that
rule doubled and the current configuration no difference, nothing of the candidate is booked,
a restart of the shadow worker neither loses nor doubles a decision, and the sums each run keeps
are its report's."""

import asyncio
import os
import re
from datetime import timedelta
from pathlib import Path

import asyncpg
import orjson
import pytest
import yaml
from aiokafka import AIOKafkaProducer

from deploy.local import processes, services
from deploy.local.paths import REPO
from deploy.local.settings import LocalSettings
from evidence.shadow import report as shadow_report
from evidence.shadow import store
from schemas.programme import ProgrammeConfig
from schemas.topics import user_key
from tests.e2e.conftest import DATABASE, PREFIX, PROGRAMMES, Credentials, RunTopics, admin_cli
from tests.e2e.test_backtest import archived, first_day, version, written

pytestmark = pytest.mark.e2e
PROGRAMME = "shadow"
USERS = [f"sh-{index}" for index in range(4)]
DAYS = 4
SETTLED_WITHIN_S = 180.0
WORKER = f"{PREFIX}shadow"


def events_of_day(day_number: int) -> list[tuple[str, dict[str, object]]]:
    """(user, event) of one day: three reads (the third cut by the daily cap), two logins (the
    second refused by the daily frequency), a purchase."""
    day = first_day(DAYS) + timedelta(days=day_number)
    found: list[tuple[str, dict[str, object]]] = []
    nothing: dict[str, object] = {}
    kinds = (
        [("read", nothing)] * 3 + [("login", nothing)] * 2 + [("buy", {"amount": 3 + day_number})]
    )
    for user in USERS:
        for offset, (kind, metadata) in enumerate(kinds):
            found.append((user, {
                "event_id": f"evt_sh_{day_number}_{user}_{offset}", "programme_id": PROGRAMME,
                "user_id": user, "event_type": kind, "metadata": metadata,
                "occurred_at": (day + timedelta(minutes=offset)).isoformat(),
            }))  # fmt: skip
    return found


async def publish(kafka_bootstrap: str, topic: str, days: range) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    produced = 0
    try:
        for number in days:
            for user, event in events_of_day(number):
                key = user_key(PROGRAMME, user)
                await producer.send_and_wait(topic, orjson.dumps(event), key=key)
                produced += 1
    finally:
        await producer.stop()
    return produced


async def settled(url: str, archived_count: int, runs: dict[int, int]) -> None:
    """Until the archive holds `archived_count` events and each run `runs[id]` decisions."""
    deadline = asyncio.get_running_loop().time() + SETTLED_WITHIN_S
    while await archived(url, PROGRAMME) < archived_count:
        assert asyncio.get_running_loop().time() < deadline, "not all events were archived"
        await asyncio.sleep(0.5)
    async with asyncpg.create_pool(url, min_size=1, max_size=2) as pool:
        for run_id, count in runs.items():
            while (found := await store.get(pool, run_id)) is None or found.decisions < count:
                assert asyncio.get_running_loop().time() < deadline, f"run {run_id} behind"
                await asyncio.sleep(0.5)


async def started(env: dict[str, str], candidate: Path) -> int:
    run = await admin_cli(env, "shadow", "start", "--programme", PROGRAMME,
                          "--candidate", str(candidate))  # fmt: skip
    assert run.status == 0, run.stderr
    found = re.search(r"started shadow run (\d+) of shadow", run.stdout)
    assert found, run.stdout
    return int(found.group(1))


async def test_shadow_runs_on_live_traffic(
    system: tuple[LocalSettings, Credentials],
    session_topics: RunTopics,
    service_env: dict[str, str],
    kafka_bootstrap: str,
    tmp_path: Path,
) -> None:
    settings = system[0]
    url = settings.database_url(DATABASE)
    env = {**os.environ, **session_topics.settings, "LOYALTY_DATABASE_URL": url}
    live = ProgrammeConfig.model_validate(yaml.safe_load((PROGRAMMES / "shadow.yaml").read_text()))
    history = await publish(kafka_bootstrap, session_topics.events, range(1))
    await settled(url, history, {})  # the first day is the runs' history: caps, streak days

    doubled = await started(env, written(tmp_path / "doubled.yaml", version(live, 9, buy=2)))
    same = await started(env, written(tmp_path / "same.yaml", live))
    shadowed = await publish(kafka_bootstrap, session_topics.events, range(1, 3))
    await settled(url, history + shadowed, {doubled: shadowed, same: shadowed})

    # The worker restarted while events arrive: none lost, none stored twice.
    assert processes.stop(WORKER)
    later = await publish(kafka_bootstrap, session_topics.events, range(3, 4))
    worker_env = services.environment(settings, "shadow", DATABASE) | service_env
    processes.start(WORKER, services.command("shadow"), env=worker_env, cwd=REPO)
    shadowed += later
    await settled(url, history + shadowed, {doubled: shadowed, same: shadowed})

    async with asyncpg.create_pool(url, min_size=1, max_size=2) as pool:
        for run_id in (doubled, same):
            stored = await pool.fetchval(
                "SELECT count(*) FROM shadow_decisions WHERE run_id = $1", run_id
            )
            found = await _run(pool, run_id)
            assert stored == found.decisions == shadowed
        doubled_report = await shadow_report.report(pool, await _run(pool, doubled))
        same_report = await shadow_report.report(pool, await _run(pool, same))
        # The sums the runs keep (the console's list) are their reports' over the whole run.
        for run_id, report in ((doubled, doubled_report), (same, same_report)):
            found = await _run(pool, run_id)
            assert (found.live_points, found.points, found.users_affected) == (
                report.current.points,
                report.candidate.points,
                len(report.user_changes()),
            )
        booked = await pool.fetchval(
            """SELECT sum(points) FROM ledger.decided_events
               WHERE programme_id = $1 AND outcome_status = 'booked'""",
            PROGRAMME,
        )
        balances = await pool.fetchval(
            """SELECT sum(balance) FROM ledger.accounts
               WHERE programme_id = $1 AND kind = 'user'""",
            PROGRAMME,
        )

    live_rules, candidate_rules = doubled_report.current.by_rule, doubled_report.candidate.by_rule
    assert candidate_rules["buy"] == 2 * live_rules["buy"] > 0
    assert {rule: points for rule, points in candidate_rules.items() if rule != "buy"} == {
        rule: points for rule, points in live_rules.items() if rule != "buy"
    }
    assert doubled_report.mismatches == same_report.mismatches == 0
    assert doubled_report.events == same_report.events == shadowed
    assert all(row.change == 0 for row in same_report.by_rule() + same_report.totals())
    assert same_report.user_changes() == {}
    assert live_rules["login-streak"] > 0  # streaks completed from the history's first day
    # Nothing of a candidate is booked: the users hold exactly what the live decisions booked.
    assert balances == booked
    assert doubled_report.current.booked + await _history_points(url) == booked

    reported = await admin_cli(env, "shadow", "report", "--run", str(doubled),
                               "--html", str(tmp_path / "shadow.html"))  # fmt: skip
    assert reported.status == 0, reported.stderr
    assert f"Shadow run {doubled} of shadow" in reported.stdout
    assert "Shadow run" in (tmp_path / "shadow.html").read_text()
    listed = await admin_cli(env, "shadow", "list", "--programme", PROGRAMME)
    assert listed.status == 0, listed.stderr
    stopped = await admin_cli(env, "shadow", "stop", "--run", str(same))
    assert stopped.status == 0, stopped.stderr
    assert "stopped" in stopped.stdout


async def _run(pool: asyncpg.Pool, run_id: int) -> store.Run:
    run = await store.get(pool, run_id)
    assert run is not None
    return run


async def _history_points(url: str) -> int:
    """What the first day (before the runs) booked."""
    connection = await asyncpg.connect(url)
    try:
        day = first_day(DAYS) + timedelta(days=1)
        found = await connection.fetchval(
            """SELECT sum(points) FROM ledger.decided_events
               WHERE programme_id = $1 AND outcome_status = 'booked' AND occurred_at < $2""",
            PROGRAMME,
            day,
        )
        return int(found or 0)
    finally:
        await connection.close()

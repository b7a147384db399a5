"""A re-base on a real history (events decided by the running processors, booked and archived by
the ledger writer): `loyalty-admin rebase --dry-run` prints the plan and books nothing; the
re-base books one correction of variety Adjustment per event and rule whose points differ, each
naming its entry and the candidate version; a backtest of the candidate then finds no
difference with the journal; the same re-base again books nothing more. A plan that would take
a balance below zero is refused, nothing booked, unless allowed (the ledger then refuses the
debits the user cannot cover, and the command says so)."""

import asyncio
import os
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import orjson
import pytest
import yaml
from aiokafka import AIOKafkaProducer

from deploy.local.settings import LocalSettings
from evidence.backtest import backtest
from ledger import reads
from schemas.ledger import Booking, LedgerCommand, TransactionType, Variety
from schemas.programme import ProgrammeConfig
from schemas.topics import user_key
from tests.e2e.conftest import DATABASE, PROGRAMMES, Credentials, RunTopics, admin_cli
from tests.e2e.test_backtest import archived, first_day, version, written

pytestmark = pytest.mark.e2e
PROGRAMME = "rebase"
USERS = [f"rb-{index}" for index in range(4)]
DAYS = 3
SETTLED_WITHIN_S = 120.0


def events_of_day(day: datetime) -> list[tuple[str, dict[str, object]]]:
    """(user, event): three reads (the third cut by the daily cap), two logins (the second
    refused by the daily frequency), a purchase."""
    found: list[tuple[str, dict[str, object]]] = []
    for user in USERS:
        nothing: dict[str, object] = {}
        kinds = [("read", nothing)] * 3 + [("login", nothing)] * 2
        kinds.append(("buy", {"amount": 4}))
        for offset, (kind, metadata) in enumerate(kinds):
            found.append((user, {
                "event_id": f"evt_rb_{uuid.uuid4().hex}", "programme_id": PROGRAMME,
                "user_id": user, "event_type": kind, "metadata": metadata,
                "occurred_at": (day + timedelta(minutes=offset)).isoformat(),
            }))  # fmt: skip
    return found


async def adjustments(url: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetch(
            """SELECT command_id, transaction_type, points, reason, source_event_id, rule_id
               FROM ledger.entries WHERE programme_id = $1 AND variety = 'Adjustment'""",
            PROGRAMME,
        )
    finally:
        await connection.close()


async def rebase(env: dict[str, str], *options: str) -> tuple[int, str, str]:
    run = await admin_cli(env, "rebase", "--programme", PROGRAMME, *options)
    return run.status, run.stdout, run.stderr


async def test_a_rebase_books_the_difference_once_and_the_candidate_then_matches_the_journal(
    system: tuple[LocalSettings, Credentials],
    session_topics: RunTopics,
    kafka_bootstrap: str,
    tmp_path: Path,
) -> None:
    url = system[0].database_url(DATABASE)
    first = ProgrammeConfig.model_validate(yaml.safe_load((PROGRAMMES / "rebase.yaml").read_text()))
    start = first_day(DAYS)
    produced = 0
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for number in range(DAYS):
            for user, event in events_of_day(start + timedelta(days=number)):
                await producer.send_and_wait(
                    session_topics.events, orjson.dumps(event), key=user_key(PROGRAMME, user)
                )
                produced += 1
    finally:
        await producer.stop()
    deadline = asyncio.get_running_loop().time() + SETTLED_WITHIN_S
    while await archived(url, PROGRAMME) < produced:
        assert asyncio.get_running_loop().time() < deadline, "not all events were archived"
        await asyncio.sleep(0.5)

    # Read pays 6 instead of 4 (its cap of 10 now cuts the second read), buy pays 2 per unit,
    # login pays 3 instead of 5: credits and debits, from the second day on.
    candidate = version(first, 2, read=6, buy=2, login=3)
    since, until = start + timedelta(days=1), start + timedelta(days=DAYS)
    env = {
        **os.environ, **session_topics.settings, "LOYALTY_DATABASE_URL": url,
        "LOYALTY_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
    }  # fmt: skip
    window = [
        "--candidate", str(written(tmp_path / "v2.yaml", candidate)),
        "--from", since.isoformat(), "--to", until.isoformat(),
    ]  # fmt: skip

    status, out, err = await rebase(env, *window, "--dry-run")
    assert status == 0, err
    assert "Corrections (variety Adjustment)" in out
    assert "Dry run: nothing booked." in out
    assert await adjustments(url) == []

    status, out, err = await rebase(env, *window)
    assert status == 0, out + err
    booked = await adjustments(url)
    # Per user and day of the window: the reads 4, 4, 2 (cap 10) become 6, 4, 0 (+2 and -2),
    # the first login 5 -> 3, the purchase 4 -> 8; the streak is unchanged.
    assert len(booked) == len(USERS) * (DAYS - 1) * 4
    assert f"Booked {len(booked)} corrections, 0 refused" in out
    assert {row["transaction_type"] for row in booked} == {"Credit", "Debit"}
    assert all("version 2" in row["reason"] for row in booked)
    assert all(row["source_event_id"] and row["rule_id"] for row in booked)

    async with asyncpg.create_pool(url, min_size=1, max_size=2) as pool:
        report = await backtest(pool, PROGRAMME, candidate, since, until)
        whole = await backtest(pool, PROGRAMME, candidate)
    assert report.ledger_differences() == []
    assert report.reproduces, report.mismatch_examples  # the decisions' entries are untouched
    assert whole.ledger_differences() != []  # the first day was not re-based

    status, out, err = await rebase(env, *window)
    assert status == 0, err
    assert "Nothing to correct." in out
    assert len(await adjustments(url)) == len(booked)

    # The first user spends everything; a candidate that pays less would take them below zero.
    spender = USERS[0]
    async with asyncpg.create_pool(url, min_size=1, max_size=2) as pool:
        balance = await reads.get_balance(pool, PROGRAMME, spender)
    assert balance > 0
    await spend(kafka_bootstrap, session_topics, spender, balance)
    deadline = asyncio.get_running_loop().time() + SETTLED_WITHIN_S
    while len(await adjustments(url)) == len(booked):
        assert asyncio.get_running_loop().time() < deadline, "the debit was not booked"
        await asyncio.sleep(0.5)
    stingy = version(first, 3, read=1)
    window[1] = str(written(tmp_path / "v3.yaml", stingy))
    status, out, err = await rebase(env, *window)
    assert status == 2
    assert "below zero" in err
    assert spender in err
    assert len(await adjustments(url)) == len(booked) + 1

    status, out, err = await rebase(env, *window, "--allow-negative")
    assert status == 0, out + err
    assert "0 refused by the ledger" in out
    async with asyncpg.create_pool(url, min_size=1, max_size=2) as pool:
        others = await backtest(pool, PROGRAMME, stingy, since, until)
        negative = await reads.get_balance(pool, PROGRAMME, spender)
    # Every correction was booked, the spender's debits too: the spender's balance is a debt.
    assert others.ledger_differences() == []
    assert negative < 0


async def spend(bootstrap: str, run_topics: RunTopics, user: str, points: int) -> None:
    """A manual debit of `points` (variety Adjustment), through the ledger writer."""
    key = f"e2e-spend-{uuid.uuid4().hex}"
    command = LedgerCommand(command_id=key, programme_id=PROGRAMME, user_id=user, bookings=[
        Booking(idempotency_key=key, transaction_type=TransactionType.DEBIT,
                variety=Variety.ADJUSTMENT, points=points, reason="spent"),
    ])  # fmt: skip
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        topic = run_topics.settings["LOYALTY_LEDGER_COMMANDS_TOPIC"]
        value = command.model_dump_json().encode()
        await producer.send_and_wait(topic, value, key=user_key(PROGRAMME, user))
    finally:
        await producer.stop()

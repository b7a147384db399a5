import base64

import asyncpg
import pytest

from ledger import queries
from ledger.storage import load_offsets
from ledger.writer import open_writer
from schemas.dead_letters import DeadLetter
from schemas.ledger import OutcomeStatus, RejectionReason, Variety
from tests.integration.ledger.conftest import ProgrammeFactory
from tests.integration.ledger.kafka_helpers import produce, read_all, writer_settings
from tests.unit.ledger.fixtures import booking, command

pytestmark = pytest.mark.integration


async def test_the_writer_books_once_and_dead_letters_what_it_cannot_apply(
    kafka_bootstrap: str,
    postgres_url: str,
    ledger_pool: asyncpg.Pool,
    new_programme: ProgrammeFactory,
) -> None:
    prog = await new_programme()
    settings = await writer_settings(kafka_bootstrap, postgres_url)
    award = command(f"{prog}-1", "alice", booking(f"{prog}-1:r", 50), programme_id=prog)
    spend = command(
        f"{prog}-2",
        "alice",
        booking(f"{prog}-2", 20, debit=True, variety=Variety.REDEMPTION),
        programme_id=prog,
    )
    conflict = command(f"{prog}-1", "alice", booking(f"{prog}-1:r", 51), programme_id=prog)
    overdraw = command(
        f"{prog}-3", "alice", booking(f"{prog}-3", 31, debit=True), programme_id=prog
    )
    garbage = (b"k", b"\x00not json")
    invalid = (b"k", b'{"command_id": "x"}')
    await produce(
        kafka_bootstrap,
        settings.commands_topic,
        [award, award, spend, conflict, overdraw, garbage, invalid],
    )
    async with open_writer(settings) as writer:
        assert await writer.process_until_drained(deadline_s=60) == 7
    await produce(kafka_bootstrap, settings.commands_topic, [award, spend])
    async with open_writer(settings) as writer:
        assert await writer.process_until_drained(deadline_s=60) == 2

    assert await queries.get_balance(ledger_pool, prog, "alice") == 30
    refused = await queries.get_outcome(ledger_pool, f"{prog}-3")
    assert refused is not None
    assert refused.reason_code is RejectionReason.INSUFFICIENT_POINTS
    assert refused.status is OutcomeStatus.REJECTED
    letters = await read_all(kafka_bootstrap, settings.dead_letters_topic, expected=3)
    assert sorted(str(letter["reason"]) for letter in letters) == [
        "idempotency_conflict",
        "schema_violation",
        "undecodable",
    ]
    parsed = [DeadLetter.model_validate(letter) for letter in letters]
    assert {letter.producer for letter in parsed} == {"ledger-writer"}
    assert {letter.source_topic for letter in parsed} == {settings.commands_topic}
    assert all(letter.error and letter.source_timestamp for letter in parsed)
    undecodable = next(letter for letter in parsed if letter.reason == "undecodable")
    assert base64.b64decode(str(undecodable.original_value_base64)) == b"\x00not json"
    assert base64.b64decode(str(undecodable.original_key_base64)) == b"k"
    offsets = await load_offsets(ledger_pool, settings.consumer_group, settings.commands_topic)
    assert sum(offsets.values()) == 9


async def test_exactly_n_records_then_a_restart_resumes_after_them(
    kafka_bootstrap: str,
    postgres_url: str,
    ledger_pool: asyncpg.Pool,
    new_programme: ProgrammeFactory,
) -> None:
    prog = await new_programme()
    settings = await writer_settings(kafka_bootstrap, postgres_url, batch_max_records=3)
    awards = [
        command(f"{prog}-{i}", "bob", booking(f"{prog}-{i}", 1), programme_id=prog)
        for i in range(10)
    ]
    await produce(kafka_bootstrap, settings.commands_topic, awards)
    async with open_writer(settings) as writer:
        assert await writer.process_records(4) == 4
    assert await queries.get_balance(ledger_pool, prog, "bob") == 4
    await produce(kafka_bootstrap, settings.commands_topic, awards)
    async with open_writer(settings) as writer:
        # 16 are new to it; a group rebalance while it joins may hand it a few again, which
        # at-least-once allows: the database must still hold each booking exactly once.
        assert await writer.process_until_drained(deadline_s=60) >= 16
    assert await queries.get_balance(ledger_pool, prog, "bob") == 10
    history = await queries.list_transactions(ledger_pool, prog, "bob")
    assert [t.balance for t in history] == list(range(1, 11))

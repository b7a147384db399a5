"""The archive's rows (ledger.decided_events): what a decided event's command fixes by itself,
and what the plan adds (booked or rejected); only new outcomes of commands with a source event."""

from datetime import UTC, date, datetime

import orjson

from ledger.core.accounts import ProgrammePolicy
from ledger.core.batch import BatchPlan, IncomingCommand, LedgerSnapshot
from ledger.core.columns import ARCHIVE_COLUMNS, archive_month
from ledger.core.planner import needed_accounts, plan_batch
from ledger.core.rows import batch_rows
from processors.engine import UserState, decide, ledger_command_json
from schemas.ledger import LedgerCommand
from tests.unit.engine.fixtures import event, programme, rule
from tests.unit.ledger.fixtures import RECORDED_AT, MemoryLedger, command


def decided(at: datetime, event_id: str = "evt_a") -> IncomingCommand:
    compiled = programme([{"name": "video"}], [rule("r", "video", default=True, version=2)])
    video = event("video", at=at, event_id=event_id)
    decision = decide(video, UserState.initial(), compiled)
    raw = ledger_command_json(video, decision, video.model_dump_json().encode(), {"r": 4})
    return IncomingCommand.of(LedgerCommand.model_validate_json(raw))


def planned(ledger: MemoryLedger, *commands: IncomingCommand) -> BatchPlan:
    for key in needed_accounts(commands, ledger.programmes):
        ledger.balances.setdefault(key, 0)
    snapshot = LedgerSnapshot(
        ledger.programmes, dict(ledger.balances), dict(ledger.outcomes), dict(ledger.entries)
    )
    plan = plan_batch(commands, snapshot, RECORDED_AT)
    ledger._store(plan)
    return plan


def archive_of(plan: BatchPlan) -> list[tuple[object, ...]]:
    accounts = {key: number for number, key in enumerate(plan.balances)}
    return batch_rows(plan, accounts, {}, list(range(len(plan.entries))), RECORDED_AT).archive


def test_a_decided_events_command_fixes_its_archive_columns() -> None:
    at = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
    incoming = decided(at)
    assert incoming.archive is not None
    columns = dict(zip(ARCHIVE_COLUMNS[3:], incoming.archive, strict=True))
    assert columns["occurred_at"] == at
    assert (columns["decision_status"], columns["points"], columns["programme_version"]) == (
        "awarded", 10, 1,
    )  # fmt: skip
    assert orjson.loads(str(columns["awards"])) == [
        {"rule_id": "r", "rule_version": 2, "kind": "earn", "points": 10}
    ]
    assert orjson.loads(str(columns["external_points"])) == {"r": 4}
    assert archive_month(incoming.archive) == date(2026, 3, 1)


def test_only_a_new_outcome_of_a_decided_event_is_archived() -> None:
    ledger = MemoryLedger(programmes={"test": ProgrammePolicy(funded=False)})
    first = decided(datetime(2026, 3, 1, tzinfo=UTC))
    plain = command("c1", "ann", programme_id="test")
    assert plain.archive is None
    (row,) = archive_of(planned(ledger, first, plain))
    assert row[:3] == ("booked", None, RECORDED_AT)
    assert archive_of(planned(ledger, first)) == []  # a redelivery: archived once


def test_a_rejected_decision_is_archived_with_the_ledgers_reason() -> None:
    ledger = MemoryLedger(programmes={"test": ProgrammePolicy(funded=True)})
    (row,) = archive_of(planned(ledger, decided(datetime(2026, 3, 1, tzinfo=UTC))))
    assert row[:2] == ("rejected", "programme_budget_exhausted")

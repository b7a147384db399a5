"""The chaos run's checks find what they look for (bench.chaos.checks), on made-up records and
ledger contents: the short run in tests/e2e only ever shows them finding nothing."""

from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import orjson

from bench.chaos import programme, workload
from bench.chaos.checks import (
    Findings,
    Ledger,
    check_answers,
    check_limits,
    check_outcomes,
    check_replay,
    check_webhooks,
)
from bench.chaos.faults import Done
from bench.chaos.load import Answer, Record

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)
DAY = date(2026, 12, 4)


def planned(number: int, event_type: str = "read", *, gateway: bool = True) -> workload.Planned:
    at = datetime(2026, 12, 4, 10, number, tzinfo=UTC)
    return workload.Planned(number, "usr_1", event_type, at, {}, via_gateway=gateway)


def ledger(
    outcomes: dict[str, str] | None = None,
    rows: list[tuple[str, str, int]] | None = None,
    balance: int | None = None,
) -> Ledger:
    """`rows`: (event id, rule id, points) of usr_1's entries on DAY."""
    rows = rows or []
    awards = {(event_id, rule_id): points for event_id, rule_id, points in rows}
    return Ledger(
        outcomes=outcomes or {},
        awards=awards,
        entry_counts=Counter((e, r) for e, r, _ in rows),
        by_user={"usr_1": [(r, DAY, p) for _, r, p in rows]},
        balances={"usr_1": sum(p for _, _, p in rows) if balance is None else balance},
        pending_webhooks=0,
    )


def test_an_accepted_event_without_an_outcome_is_lost_and_a_refused_one_with_one_is_found() -> None:
    accepted, refused = Record(planned(1), final="accepted"), Record(planned(2), final="refused")
    findings = Findings()
    booked = ledger({refused.planned.event_id: "booked"})
    check_outcomes([accepted, refused], set(), booked, findings)
    assert findings.counts == Counter({"lost": 1, "refused_booked": 1})


def test_an_outcome_for_an_event_never_sent_is_doubled() -> None:
    findings = Findings()
    booked = ledger({"evt_warm": "booked", "evt_other": "booked"})
    check_outcomes([], {"evt_warm"}, booked, findings)
    assert findings.counts == Counter({"doubled": 1})


def test_a_500_a_503_without_retry_after_a_hang_and_a_dropped_connection_are_found() -> None:
    answers = [
        Answer(0.0, 0.1, 500, "internal", unknown=True),
        Answer(1.0, 1.1, 503, "unavailable", unknown=True, retry_after=False),
        Answer(2.0, 32.0, None, "timeout", unknown=True),
        Answer(40.0, 40.1, None, "ConnectError", unknown=True),  # the gateway was up
        Answer(50.0, 50.1, None, "ConnectError", unknown=True),  # it was down: expected
        Answer(60.0, 60.1, 200),
    ]
    findings = Findings()
    gateway_down = [Done("gateway", 49.0, 55.0)]
    check_answers([Record(planned(1), answers, "accepted")], gateway_down, findings)
    assert findings.counts == Counter({"bad_answers": 2, "hangs": 1, "dropped": 1})


def test_a_daily_cap_a_daily_frequency_and_the_budget_passed_are_found() -> None:
    rows = [("e1", "read", programme.READ_DAILY_CAP), ("e2", "read", 1), ("e3", "login", 5),
            ("e4", "login", 5), ("e5", "bonus", 14)]  # fmt: skip
    findings = Findings()
    check_limits(ledger(rows=rows), budget_max=7, findings=findings)
    assert findings.counts == Counter({"cap_violations": 3})


def test_a_balance_other_than_the_engines_replay_is_a_mismatch() -> None:
    records = [Record(planned(n), final="accepted") for n in range(3)]  # 4 + 4 + 2 (the cap)
    points = zip(records, (4, 4, 2), strict=True)
    rows = [(r.planned.event_id, "read", p) for r, p in points]
    config = programme.config(budget_max=70)
    clean, wrong = Findings(), Findings()
    check_replay(records, config, ledger(rows=rows), clean)
    check_replay(records, config, ledger(rows=rows[:2]), wrong)
    assert (clean.counts, wrong.counts) == (Counter(), Counter({"ledger_mismatches": 1}))


def test_the_budgeted_rule_may_pay_less_than_the_replay_never_more() -> None:
    records = [Record(planned(1, "bonus"), final="accepted")]
    event_id = records[0].planned.event_id
    config = programme.config(budget_max=70)
    less, more = Findings(), Findings()
    check_replay(records, config, ledger(rows=[(event_id, "bonus", 3)]), less)
    check_replay(records, config, ledger(rows=[(event_id, "bonus", 8)]), more)
    assert (less.counts, more.counts) == (Counter(), Counter({"ledger_mismatches": 1}))


def test_a_webhook_id_for_two_outcomes_and_an_outcome_under_two_ids_are_found(
    tmp_path: Path,
) -> None:
    def line(webhook_id: str, event_id: str, points: int) -> bytes:
        body = {"id": webhook_id, "type": "points.awarded",
                "data": {"event_id": event_id, "points": points}}  # fmt: skip
        return webhook_id.encode() + b"\t" + orjson.dumps(body) + b"\n"

    record = tmp_path / "webhooks.tsv"
    record.write_bytes(
        line("whd_1", "e1", 5) + line("whd_1", "e1", 5)  # delivered again: fine
        + line("whd_2", "e2", 5) + line("whd_2", "e3", 5)  # one id, two outcomes
        + line("whd_3", "e4", 5) + line("whd_4", "e4", 5)  # one outcome, two ids
    )  # fmt: skip
    findings = Findings()
    assert check_webhooks(record, ledger(), findings) == 6
    assert findings.counts == Counter({"webhook_conflicts": 1, "webhook_doubles": 1})


def test_the_workload_is_the_seeds_and_each_users_events_are_in_time_order() -> None:
    first = workload.plan(500, 20, seed=3, now=NOW)
    assert first == workload.plan(500, 20, seed=3, now=NOW)
    assert sum(len(events) for events in first.values()) == 500
    for events in first.values():
        times = [p.occurred_at for p in events]
        assert times == sorted(times)
    assert {p.via_gateway for events in first.values() for p in events} == {True, False}

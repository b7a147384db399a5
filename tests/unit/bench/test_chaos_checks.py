"""The chaos run's checks find what they look for (bench.chaos.checks), on made-up records and
ledger contents: the short run in tests/e2e only ever shows them finding nothing."""

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
from pydantic import JsonValue

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


def planned(
    number: int,
    event_type: str = "read",
    *,
    gateway: bool = True,
    metadata: dict[str, JsonValue] | None = None,
) -> workload.Planned:
    at = datetime(2026, 12, 4, 10, number, tzinfo=UTC)
    return workload.Planned(number, "usr_1", event_type, at, metadata or {}, via_gateway=gateway)


def ledger(
    outcomes: dict[str, str] | None = None,
    rows: list[tuple[str, str, int]] | None = None,
    balance: int | None = None,
    held: frozenset[str] = frozenset(),
    released: list[tuple[str, int]] | None = None,
) -> Ledger:
    """`rows`: (event id, rule id, points) of usr_1's awards on DAY; `held`: the keys of those
    booked pending; `released`: (award key, points) of the releases."""
    rows, released = rows or [], released or []
    awards = {(event_id, rule_id): points for event_id, rule_id, points in rows}
    available = sum(p for e, r, p in rows if f"{e}:{r}" not in held) + sum(p for _, p in released)
    return Ledger(
        outcomes=outcomes or {},
        awards=awards,
        entry_counts=Counter((e, r) for e, r, _ in rows),
        by_user={"usr_1": [(r, DAY, p) for _, r, p in rows]},
        balances={"usr_1": available if balance is None else balance},
        pending_webhooks=0,
        available={"usr_1": available},
        pending_awards=held,
        released=dict(released),
        release_counts=Counter(key for key, _ in released),
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


def purchase_and_delivery(delivered: bool) -> tuple[list[Record], str]:
    """A purchase of 30 through the gateway and, if `delivered`, a delivery naming it (else a
    delivery naming nothing); the purchase's award key."""
    buy = planned(1, "buy", metadata={"amount": 30})
    named = buy.confirming_reference if delivered else "chaos-none-2"
    delivery = planned(2, "deliver", gateway=False, metadata={"original_reference_id": named})
    records = [Record(buy, final="accepted"), Record(delivery, final="accepted")]
    return records, f"{buy.event_id}:{programme.PENDING_RULE}"


def test_a_purchase_named_by_a_delivery_is_released_in_full_once() -> None:
    records, award = purchase_and_delivery(delivered=True)
    rows = [(records[0].planned.event_id, programme.PENDING_RULE, 30)]
    config = programme.config(budget_max=70)
    clean, kept, twice = Findings(), Findings(), Findings()
    check_replay(
        records, config, ledger(rows=rows, held=frozenset({award}), released=[(award, 30)]), clean
    )
    check_replay(records, config, ledger(rows=rows, held=frozenset({award})), kept)
    doubled = ledger(rows=rows, held=frozenset({award}), released=[(award, 30), (award, 30)])
    check_outcomes(records, set(), doubled, twice)
    assert (clean.counts, kept.counts["ledger_mismatches"]) == (Counter(), 2)
    assert twice.counts["doubled"] == 1


def test_a_purchase_no_delivery_names_is_released_by_the_day_its_window_ends() -> None:
    records, award = purchase_and_delivery(delivered=False)
    rows = [(records[0].planned.event_id, programme.PENDING_RULE, 30)]
    config = programme.config(budget_max=70)
    window_ends = DAY + timedelta(days=programme.PENDING_DAYS)
    released = ledger(rows=rows, held=frozenset({award}), released=[(award, 30)])
    pending = ledger(rows=rows, held=frozenset({award}))
    findings = [Findings() for _ in range(4)]
    check_replay(records, config, released, findings[0], window_ends)
    check_replay(records, config, pending, findings[1], window_ends - timedelta(days=1))
    check_replay(records, config, pending, findings[2], window_ends)  # not released: found
    check_replay(records, config, ledger(rows=rows), findings[3])  # available at once: found
    assert [f.counts["ledger_mismatches"] for f in findings] == [0, 0, 2, 2]


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


def test_a_delivery_names_an_earlier_purchase_of_its_user_at_most_once() -> None:
    named: list[str] = []
    for events in workload.plan(2_000, 20, seed=5, now=NOW).values():
        earlier: set[str] = set()
        for event in events:
            if event.event_type == "buy":
                earlier.add(event.confirming_reference)
            elif event.event_type == programme.CONFIRMING_TYPE:
                reference = str(event.metadata["original_reference_id"])
                assert reference in earlier or reference.startswith("chaos-none-")
                named.append(reference)
    real = [reference for reference in named if not reference.startswith("chaos-none-")]
    assert len(real) == len(set(real)) > 0

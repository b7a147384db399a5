"""What must hold after the run, checked from the outside: the clients' records, the ledger's
tables, `loyalty-admin check-ledger` and the webhook receiver's file.

The balances are held to a replay of the events through the pure engine (each user's events in
the order they were sent, which is the order they were published in: a user's next event leaves
once the last one is answered). The rule budget spans all users, whose relative order no client
sees, so the replay pays the budgeted rule in full and the ledger's award of it for each event
may be less (cut or refused when the budget ran out), never more; every other rule must match.

Pending points are modelled exactly: a purchase's award is pending until a later booked delivery
of the user names it, or until the scheduler's day (run once, after every event is booked, so
that no release races a booking) reaches its window's end; its release then moves all of it. The
balance is what the replay made available, and the set of released awards is the replay's."""

import os
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import orjson

from bench.chaos.faults import Done
from bench.chaos.load import Record
from bench.chaos.programme import (
    BUDGETED_RULE,
    CONFIRMING_TYPE,
    LOGIN_POINTS,
    PENDING_DAYS,
    PENDING_RULE,
    PROGRAMME_ID,
    READ_DAILY_CAP,
)
from processors.engine import CompiledProgramme, UserState, compile_programme, decide
from processors.engine.commands import ORIGINAL_REFERENCE
from schemas.programme import ProgrammeConfig

ANSWERED = frozenset({200, 202, 429, 503})


@dataclass
class Findings:
    counts: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, example: str, n: int = 1) -> None:
        self.counts[kind] += n
        shown = self.examples.setdefault(kind, [])
        if len(shown) < 5:
            shown.append(example)


@dataclass(frozen=True)
class Ledger:
    outcomes: dict[str, str]  # command id -> status (the events' commands, not the days')
    # (event id, rule id) -> points awarded to the user, and how many entries held them
    awards: dict[tuple[str, str], int]
    entry_counts: Counter[tuple[str, str]]
    # user -> [(rule id, day, points)] of the awards (pending or not)
    by_user: dict[str, list[tuple[str, date, int]]]
    balances: dict[str, int]
    pending_webhooks: int
    # user -> the points of the entries on the user's own account: awards not held pending,
    # and releases
    available: dict[str, int] = field(default_factory=dict)
    pending_awards: frozenset[str] = frozenset()  # the award keys booked as pending
    released: dict[str, int] = field(default_factory=dict)  # award key -> points released
    release_counts: Counter[str] = field(default_factory=Counter)


async def read_ledger(url: str) -> Ledger:
    connection = await asyncpg.connect(url)
    try:
        outcomes = {
            r["command_id"]: r["status"]
            for r in await connection.fetch(
                """SELECT command_id, status FROM ledger.command_outcomes AS o
                   WHERE programme_id = $1 AND NOT EXISTS (SELECT 1 FROM ledger.lifecycle_runs
                                                           WHERE command_id = o.command_id)""",
                PROGRAMME_ID,
            )
        }
        entries = await connection.fetch(
            """SELECT source_event_id, user_id, rule_id, points, transaction_type,
                      idempotency_key, pending IS NOT NULL AS held, pending_of,
                      (occurred_at AT TIME ZONE 'UTC')::date AS day
               FROM ledger.entries WHERE programme_id = $1 AND user_id IS NOT NULL""",
            PROGRAMME_ID,
        )
        balances = {
            r["owner_id"]: r["balance"]
            for r in await connection.fetch(
                "SELECT owner_id, balance FROM ledger.accounts "
                "WHERE programme_id = $1 AND kind = 'user'",
                PROGRAMME_ID,
            )
        }
        pending = await connection.fetchval(
            "SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'"
        )
    finally:
        await connection.close()
    awards: dict[tuple[str, str], int] = defaultdict(int)
    counts: Counter[tuple[str, str]] = Counter()
    by_user: dict[str, list[tuple[str, date, int]]] = defaultdict(list)
    available: dict[str, int] = defaultdict(int)
    held: set[str] = set()
    released: dict[str, int] = defaultdict(int)
    release_counts: Counter[str] = Counter()
    for e in entries:
        points = e["points"] if e["transaction_type"] == "Credit" else -e["points"]
        if e["pending_of"] is not None:  # a release of a pending award (no returns here)
            released[e["pending_of"]] += points
            release_counts[e["pending_of"]] += 1
            available[e["user_id"]] += points
            continue
        key = (e["source_event_id"], e["rule_id"])
        awards[key] += points
        counts[key] += 1
        by_user[e["user_id"]].append((e["rule_id"], e["day"], points))
        if e["held"]:
            held.add(e["idempotency_key"])
        else:
            available[e["user_id"]] += points
    return Ledger(
        outcomes,
        dict(awards),
        counts,
        dict(by_user),
        balances,
        int(pending),
        dict(available),
        frozenset(held),
        dict(released),
        release_counts,
    )


def check_outcomes(
    records: list[Record], warm_up: set[str], ledger: Ledger, findings: Findings
) -> None:
    """Every accepted event has one outcome; no refused event has one; nothing else (but the
    warm-up's events) has one."""
    sent = {r.planned.event_id for r in records} | warm_up
    for record in records:
        event_id = record.planned.event_id
        if record.final == "accepted" and event_id not in ledger.outcomes:
            findings.add("lost", event_id)
        if record.final == "refused" and event_id in ledger.outcomes:
            findings.add("refused_booked", f"{event_id}: {[a.status for a in record.answers]}")
    for command_id in ledger.outcomes:
        if command_id not in sent:
            findings.add("doubled", f"an outcome for an event never sent: {command_id}")
    for key, count in ledger.entry_counts.items():
        if count > 1:
            findings.add("doubled", f"{key}: {count} entries")
    for award_key, count in ledger.release_counts.items():
        if count > 1:
            findings.add("doubled", f"{award_key}: released {count} times")


def check_answers(records: list[Record], gateway_down: list[Done], findings: Findings) -> None:
    """Only 200, 202, 429 and 503 (the last two with Retry-After); no answer only while the
    gateway was down (killed, or not yet started again); nothing later than the deadline."""
    windows = [(d.started, d.ready) for d in gateway_down]
    for record in records:
        for answer in record.answers:
            if not record.planned.via_gateway:
                continue
            label = f"{record.planned.event_id}: {answer.status} {answer.error}"
            if answer.status is None:
                if answer.error == "timeout":
                    findings.add("hangs", label)
                elif not any(a <= answer.ended and answer.started <= b + 1.0 for a, b in windows):
                    findings.add("dropped", label)
            elif answer.status not in ANSWERED:
                findings.add("bad_answers", label)
            elif answer.status in (429, 503) and not answer.retry_after:
                findings.add("bad_answers", f"{label} without Retry-After")


def check_limits(ledger: Ledger, budget_max: int, findings: Findings) -> None:
    """The daily cap, the daily frequency and the rule budget, from the entries alone."""
    budget_used = 0
    for user, rows in ledger.by_user.items():
        read: Counter[date] = Counter()
        logins: Counter[date] = Counter()
        for rule_id, day, points in rows:
            if rule_id == "read":
                read[day] += points
            elif rule_id == "login":
                logins[day] += points
            elif rule_id == BUDGETED_RULE:
                budget_used += points
        for day, points in read.items():
            if points > READ_DAILY_CAP:
                findings.add("cap_violations", f"{user} read {points} on {day}")
        for day, points in logins.items():
            if points > LOGIN_POINTS:
                findings.add("cap_violations", f"{user} login {points} on {day}")
    if budget_used > budget_max:
        findings.add("cap_violations", f"budget: {budget_used} > {budget_max}")


@dataclass
class _Replayed:
    """One user's replay: the points per rule but the budgeted one's, and the pending awards."""

    expected: Counter[str] = field(default_factory=Counter)
    available: int = 0  # without the budgeted rule's points (the ledger's may be less)
    held: dict[str, tuple[str, date, int]] = field(default_factory=dict)
    """Award key -> (the reference a delivery names it by, its release day, points)."""
    released: dict[str, int] = field(default_factory=dict)


def check_replay(
    records: list[Record],
    config: ProgrammeConfig,
    ledger: Ledger,
    findings: Findings,
    released_through: date | None = None,
) -> None:
    """Each user's balance against the engine's replay of the user's booked or accepted events;
    `released_through`: the last local day the scheduler ran (its windows ended by then)."""
    compiled = compile_programme(config)
    by_user: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        by_user[record.planned.user_id].append(record)
    claims: dict[str, int] = {}  # event id -> the budgeted rule's points in the replay
    held: set[str] = set()  # the award keys the replay booked pending, released or not
    for user, mine in by_user.items():
        replayed = _replay(mine, compiled, ledger, claims, released_through)
        held.update(replayed.held.keys() | replayed.released.keys())
        booked: Counter[str] = Counter()
        for rule_id, _, points in ledger.by_user.get(user, []):
            booked[rule_id] += points
        budget_booked = booked.pop(BUDGETED_RULE, 0)  # never pending
        balance, available = ledger.balances.get(user, 0), ledger.available.get(user, 0)
        if (
            +booked != +replayed.expected
            or balance != available
            or available - budget_booked != replayed.available
        ):
            findings.add(
                "ledger_mismatches",
                f"{user}: balance {balance}, booked {dict(booked)}, "
                f"replay {dict(replayed.expected)}, available {available} "
                f"(budgeted {budget_booked}), replay's {replayed.available}",
            )
        _check_pending(user, replayed, ledger, findings)
    for (event_id, rule_id), points in ledger.awards.items():
        if rule_id == BUDGETED_RULE and points > claims.get(event_id, 0):
            findings.add("ledger_mismatches", f"{event_id}: {rule_id} {points} > replay")
    for award_key in sorted(ledger.pending_awards ^ held):
        findings.add("ledger_mismatches", f"{award_key}: pending in one of ledger and replay only")
    for award_key in sorted(ledger.released.keys() - held):
        findings.add("ledger_mismatches", f"{award_key}: released, not pending in the replay")


def _replay(
    mine: list[Record],
    compiled: CompiledProgramme,
    ledger: Ledger,
    claims: dict[str, int],
    released_through: date | None,
) -> _Replayed:
    state = UserState.initial()
    replayed = _Replayed()
    for record in mine:
        planned = record.planned
        event_id = planned.event_id
        if record.final != "accepted" and event_id not in ledger.outcomes:
            continue
        decision = decide(planned.event(), state, compiled)
        state = decision.state
        if planned.event_type == CONFIRMING_TYPE:
            _confirm(replayed, str(planned.metadata[ORIGINAL_REFERENCE]))
        for award in decision.awards:
            points = award.points if award.kind == "earn" else -award.points
            if award.rule_id == BUDGETED_RULE:
                claims[event_id] = points
                continue
            replayed.expected[award.rule_id] += points
            if award.rule_id == PENDING_RULE and award.kind == "earn":
                window_ends = planned.occurred_at.date() + timedelta(days=PENDING_DAYS)
                replayed.held[f"{event_id}:{award.rule_id}"] = (
                    planned.confirming_reference,
                    window_ends,
                    points,
                )
            else:
                replayed.available += points
    for award_key, (_, window_ends, points) in list(replayed.held.items()):
        if released_through is not None and window_ends <= released_through:
            del replayed.held[award_key]
            replayed.released[award_key] = points
            replayed.available += points
    return replayed


def _confirm(replayed: _Replayed, reference: str) -> None:
    """A delivery releases the pending awards of the purchase it names (none: nothing)."""
    for award_key, (named, _, points) in list(replayed.held.items()):
        if named == reference:
            del replayed.held[award_key]
            replayed.released[award_key] = points
            replayed.available += points


def _check_pending(user: str, replayed: _Replayed, ledger: Ledger, findings: Findings) -> None:
    """The user's pending awards released as the replay released them, in full."""
    for award_key in replayed.held.keys() | replayed.released.keys():
        if ledger.released.get(award_key, 0) != replayed.released.get(award_key, 0):
            findings.add(
                "ledger_mismatches",
                f"{user}: {award_key} released {ledger.released.get(award_key, 0)}, "
                f"replay {replayed.released.get(award_key, 0)}",
            )


def check_webhooks(record_file: Path, ledger: Ledger, findings: Findings) -> int:
    """No webhook id for two different outcomes, no outcome under two ids, none left undelivered;
    returns the deliveries received."""
    outcomes_of: dict[str, set[bytes]] = defaultdict(set)  # webhook id -> outcomes
    ids_of: dict[tuple[str, str], set[str]] = defaultdict(set)
    received = 0
    for line in _lines(record_file):
        raw_id, _, body = line.partition(b"\t")
        webhook_id = raw_id.decode()
        notification = orjson.loads(body)
        data = notification["data"]
        outcome = orjson.dumps([data["event_id"], notification["type"], data["points"]])
        outcomes_of[webhook_id].add(outcome)
        ids_of[(data["event_id"], notification["type"])].add(webhook_id)
        received += 1
    for webhook_id, outcomes in outcomes_of.items():
        if len(outcomes) > 1:
            findings.add("webhook_conflicts", f"{webhook_id}: {sorted(outcomes)}")
    for key, ids in ids_of.items():
        if len(ids) > 1:
            findings.add("webhook_doubles", f"{key}: {sorted(ids)}")
    if ledger.pending_webhooks:
        findings.add("webhooks_undelivered", "outbox", ledger.pending_webhooks)
    return received


def _lines(path: Path) -> Iterable[bytes]:
    if not path.exists():
        return []
    return [line for line in path.read_bytes().split(b"\n") if line]


def check_ledger_cli(url: str, findings: Findings) -> str:
    """`loyalty-admin check-ledger` as an operator runs it; its report's last line."""
    done = subprocess.run(
        [sys.executable, "-m", "gateway.admin.cli", "check-ledger", "--programme", PROGRAMME_ID],
        env=os.environ | {"LOYALTY_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        findings.add("check_ledger", (done.stdout + done.stderr).strip()[-2000:])
    lines = done.stdout.strip().splitlines()
    return lines[-1] if lines else done.stderr.strip()[-200:]

"""The chaos run itself, in a process whose `LOYALTY_LOCAL_STATE_DIR` is the run's own (see
`bench.chaos.__main__`, which starts it): servers, programme, load and faults, then the checks.
Exits 1 when a check failed."""

import argparse
import asyncio
import logging
import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime

import asyncpg
import httpx

from bench.chaos import checks, faults, programme, workload
from bench.chaos.load import Load, Record
from bench.chaos.system import System, private_settings
from deploy.local import paths
from deploy.local.ports import free_port
from gateway.admin import api_keys, programmes
from gateway.webhooks import subscriptions
from scheduler.days import command_id
from schemas.events import event_id_for
from schemas.ledger import LifecycleAction
from schemas.programme import ProgrammeConfig

WARM_UP_S = 180.0
QUIET_S = 2.0  # between the drain's looks
VIOLATIONS = (
    "lost", "doubled", "cap_violations", "ledger_mismatches", "refused_booked", "bad_answers",
    "hangs", "dropped", "webhook_conflicts", "webhook_doubles", "webhooks_undelivered",
    "check_ledger",
)  # fmt: skip

_STARTED = time.monotonic()


def log(line: str) -> None:
    print(f"[{time.monotonic() - _STARTED:7.1f} s] {line}", flush=True)


async def configure(system: System, config: ProgrammeConfig, receiver_url: str) -> str:
    """The programme stored and published, the receiver subscribed; returns the partner's key."""
    async with asyncpg.create_pool(system.url, min_size=1, max_size=2) as pool:
        await programmes.save(pool, config)
        key = await api_keys.create(pool, config.programme_id, programme.PARTNER_ID, "production")
        await subscriptions.create(
            pool, "chaos", config.programme_id, receiver_url, ["points.awarded", "event.rejected"]
        )
    await programmes.publish(system.settings.kafka_bootstrap_servers, [config])
    return key.secret


async def warm_up(gateway_url: str, api_key: str) -> set[str]:
    """An event through the gateway until one is answered with points: the configuration has
    reached the gateway and the processors, and the ledger books. Returns the events' ids."""
    sent: set[str] = set()
    deadline = time.monotonic() + WARM_UP_S
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30.0) as client:
        while time.monotonic() < deadline:
            reference = f"chaos-warm-up-{len(sent)}"
            sent.add(event_id_for(programme.PROGRAMME_ID, programme.PARTNER_ID, reference))
            body = {"user_id": "usr_chaos_warm_up", "event_type": "login",
                    "metadata": {"reference_id": reference}}  # fmt: skip
            response = await client.post(
                "/api/partner/events", json=body, headers={"X-API-Key": api_key}
            )
            if response.status_code == 200:
                return sent
            await asyncio.sleep(1.0)
    raise TimeoutError(f"the system did not answer with points within {WARM_UP_S}s")


async def load_with_faults(
    system: System,
    load: Load,
    planned: dict[str, list[workload.Planned]],
    schedule: list[faults.Fault],
) -> tuple[list[Record], list[faults.Done], list[str]]:
    total = sum(len(p) for p in planned.values())
    running = asyncio.create_task(load.run(planned))
    injected = asyncio.create_task(
        faults.inject(system, schedule, lambda: load.done / total, running.done, log)
    )
    reporting = asyncio.create_task(_report_progress(load, total))
    records = await running
    done, died = await injected
    reporting.cancel()
    return records, done, died


async def _report_progress(load: Load, total: int) -> None:
    while True:
        await asyncio.sleep(10)
        log(f"{load.done} of {total} events sent")


async def drain(url: str, records: list[Record], quiet_s: float) -> None:
    """Until every accepted event has an outcome and the outbox is delivered, or nothing moved
    for `quiet_s`."""
    wanted = [r.planned.event_id for r in records if r.final == "accepted"]
    last, still = None, time.monotonic()
    connection = await asyncpg.connect(url)
    try:
        while time.monotonic() - still < quiet_s:
            missing = await connection.fetchval(
                """SELECT count(*) FROM unnest($1::text[]) AS w(id) WHERE NOT EXISTS
                     (SELECT 1 FROM ledger.command_outcomes WHERE command_id = w.id)""",
                wanted,
            )
            undelivered = await connection.fetchval(
                "SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'"
            )
            if missing == 0 and undelivered == 0:
                return
            if (missing, undelivered) != last:
                log(f"drain: {missing} outcomes and {undelivered} webhooks to go")
                last, still = (missing, undelivered), time.monotonic()
            await asyncio.sleep(QUIET_S)
    finally:
        await connection.close()


async def release_day(system: System, timeout_s: float) -> date:
    """The scheduler's day (the programme's, UTC) sent once every event is booked, and run by the
    ledger: the pending points whose window has ended are released. Returns the day."""
    today = datetime.now(UTC).date()
    env = os.environ | {
        "LOYALTY_KAFKA_BOOTSTRAP_SERVERS": system.settings.kafka_bootstrap_servers,
        "LOYALTY_DATABASE_URL": system.url,
    }
    argv = [sys.executable, "-m", "scheduler", "emit", "--programme", programme.PROGRAMME_ID,
            "--through", today.isoformat()]  # fmt: skip
    sent = await asyncio.to_thread(
        subprocess.run, argv, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if sent.returncode != 0:
        raise RuntimeError(f"the scheduler's day was not sent: {sent.stderr.strip()[-500:]}")
    runs = [command_id(a, programme.PROGRAMME_ID, today) for a in LifecycleAction]
    deadline = time.monotonic() + timeout_s
    connection = await asyncpg.connect(system.url)
    try:
        while time.monotonic() < deadline:
            finished = await connection.fetchval(
                """SELECT count(*) FROM ledger.lifecycle_runs
                   WHERE command_id = ANY($1::text[]) AND finished_at IS NOT NULL""",
                runs,
            )
            if finished == len(runs):
                return today
            await asyncio.sleep(QUIET_S)
    finally:
        await connection.close()
    raise TimeoutError(f"the day's runs {runs} not finished within {timeout_s:.0f} s")


def main() -> None:
    # The clients' retries are counted in the records; aiokafka's log of each would bury the run's.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--lanes", type=int, default=128, help="users sending at once")
    parser.add_argument("--kills", type=int, default=2, help="SIGKILLs of each service")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument(
        "--faults",
        default=",".join(faults.KINDS),
        help="the kinds of fault to do (a comma-separated subset of the default)",
    )
    parser.add_argument("--drain-s", type=float, default=180.0, help="give up after as long quiet")
    arguments = parser.parse_args()
    raise SystemExit(run(arguments))


def run(arguments: argparse.Namespace) -> int:
    settings = private_settings()
    state = paths.LOCAL
    service_env = {
        "LOYALTY_PROCESSORS_DATA_DIR": str(state / "processors"),
        # Deliveries retried within seconds, and a killed dispatcher's claims back soon: the
        # run waits for the outbox to empty.
        "LOYALTY_WEBHOOK_TIMEOUT_S": "2",
        "LOYALTY_WEBHOOK_LEASE_S": "8",
        "LOYALTY_WEBHOOK_POLL_S": "1",
        "LOYALTY_WEBHOOK_BACKOFF_FIRST_S": "1",
        "LOYALTY_WEBHOOK_BACKOFF_MAX_S": "5",
    }
    system = System(settings, service_env)
    planned = workload.plan(arguments.events, arguments.users, arguments.seed, datetime.now(UTC))
    budget_max = workload.budget_max(planned)
    config = programme.config(budget_max)
    kinds = tuple(arguments.faults.split(",")) if arguments.faults else ()
    unknown = set(kinds) - set(faults.KINDS)
    if unknown:
        raise SystemExit(f"no such fault: {', '.join(sorted(unknown))}")
    schedule = faults.schedule(arguments.seed, arguments.kills, kinds)
    log(f"state in {state}; kafka :{settings.kafka_port}, postgres :{settings.postgres_port}")
    log("faults: " + ", ".join(f"{f.kind}@{f.at:.0%}" for f in schedule))
    try:
        system.start_servers()
        receiver_port = free_port()
        record_file = state / "webhooks.tsv"
        system.start_receiver(receiver_port, record_file)
        api_key = asyncio.run(configure(system, config, f"http://127.0.0.1:{receiver_port}/ok"))
        system.start_services()
        gateway_url = f"http://127.0.0.1:{settings.gateway_port}"
        warm = asyncio.run(warm_up(gateway_url, api_key))
        log(f"warmed up; {arguments.events} events for {len(planned)} users")
        started = time.monotonic()
        load = Load(gateway_url, api_key, settings.kafka_bootstrap_servers, arguments.lanes)
        records, done, died = asyncio.run(load_with_faults(system, load, planned, schedule))
        sent_s = time.monotonic() - started
        log(f"all sent in {sent_s:.1f} s; draining")
        asyncio.run(drain(system.url, records, arguments.drain_s))
        released_through = asyncio.run(release_day(system, arguments.drain_s))
        log(f"the scheduler's day {released_through} run")
        asyncio.run(drain(system.url, records, arguments.drain_s))
        elapsed_s = time.monotonic() - started
        findings = checks.Findings()
        ledger = asyncio.run(checks.read_ledger(system.url))
        checks.check_outcomes(records, warm, ledger, findings)
        checks.check_answers(records, [d for d in done if d.kind == "gateway"], findings)
        checks.check_limits(ledger, budget_max, findings)
        checks.check_replay(records, config, ledger, findings, released_through)
        received = checks.check_webhooks(record_file, ledger, findings)
        check_line = checks.check_ledger_cli(system.url, findings)
    finally:
        system.stop()
    return report(records, findings, done, died, received, check_line, elapsed_s)


def report(
    records: list[Record],
    findings: checks.Findings,
    done: list[faults.Done],
    died: list[str],
    received: int,
    check_line: str,
    elapsed_s: float,
) -> int:
    finals = {k: sum(r.final == k for r in records) for k in ("accepted", "refused", "given_up")}
    statuses: dict[str, int] = {}
    for record in records:
        for answer in record.answers:
            if record.planned.via_gateway:
                name = str(answer.status or answer.error)
                statuses[name] = statuses.get(name, 0) + 1
    print(f"faults done: {', '.join(f'{d.kind} ({d.ready - d.started:.1f} s)' for d in done)}")
    print(f"services that died on their own: {', '.join(died) or 'none'}")
    print(f"events: {finals}; gateway answers: {dict(sorted(statuses.items()))}")
    print(f"webhooks received: {received}; check-ledger: {check_line}")
    for kind, examples in findings.examples.items():
        print(f"{kind} ({findings.counts[kind]}): " + "; ".join(examples))
    counts = findings.counts
    print(
        f"RESULT events={len(records)} lost={counts['lost']} doubled={counts['doubled']} "
        f"cap_violations={counts['cap_violations']} "
        f"ledger_mismatches={counts['ledger_mismatches']} "
        f"accepted={finals['accepted']} refused={finals['refused']} "
        f"given_up={finals['given_up']} refused_booked={counts['refused_booked']} "
        f"bad_answers={counts['bad_answers']} hangs={counts['hangs']} "
        f"dropped={counts['dropped']} webhook_conflicts={counts['webhook_conflicts']} "
        f"webhook_doubles={counts['webhook_doubles']} "
        f"webhooks_undelivered={counts['webhooks_undelivered']} "
        f"check_ledger={'clean' if not counts['check_ledger'] else 'failed'} "
        f"faults={len(done)} died_on_their_own={len(died)} seconds={elapsed_s:.0f}",
        flush=True,
    )
    # An event still unresolved after minutes of retries is a hang too.
    failed = any(counts[kind] for kind in VIOLATIONS) or bool(died) or finals["given_up"] > 0
    return 1 if failed else 0


if __name__ == "__main__":
    main()

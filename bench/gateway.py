"""`python -m bench.gateway`: the partner API under load, with the whole system co-located.

Starts its own set of services (gateway, processors, ledger writer; Kafka and Postgres if they
are not running) on a fresh database, with a partner whose rate limit does not interfere. Then:
- the answer-with-points path: an open-loop load of `--sync-rate` POSTs a second for
  `--seconds`, from a separate process (each request leaves on schedule, whether or not earlier
  ones were answered); every answer must carry `points_awarded`; latency percentiles;
- the 202 path: a second gateway instance that answers without waiting (outcome wait 0), driven
  closed-loop by wrk (or, where wrk is missing, by Python client processes) for `--seconds`.
Ends with `RESULT sync_p99_ms=N sync_rate=R async_events_per_s=M`.
"""

import argparse
import asyncio
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

from deploy import db
from deploy.local import kafka, postgres, processes, services
from deploy.local.paths import REPO
from deploy.local.settings import LocalSettings
from gateway.admin import api_keys, programmes
from schemas.programme import Partner

PREFIX = "bench-"
ASYNC_PREFIX = "bench-async-"
DATABASE = "loyalty_bench_gateway"
DEMO = REPO / "deploy" / "programmes" / "demo.yaml"
WRK_SCRIPT = Path(__file__).resolve().parent / "gateway_post.lua"


async def configure(settings: LocalSettings, programme_id: str) -> str:
    """The demo programme under a fresh id, its partner unthrottled; returns an API key."""
    config = programmes.load_file(DEMO)
    partners = tuple(
        Partner.model_validate(p.model_dump() | {"rate_limit_per_minute": 1_000_000})
        for p in config.partners
    )
    config = config.model_copy(update={"programme_id": programme_id, "partners": partners})
    async with asyncpg.create_pool(settings.database_url(DATABASE), min_size=1, max_size=2) as pool:
        await programmes.save(pool, config)
        key = await api_keys.create(pool, programme_id, "mgpass-demo", "production")
    await programmes.publish(settings.kafka_bootstrap_servers, [config])
    return key.secret


def open_loop(
    url: str,
    api_key: str,
    rate: int,
    seconds: float,
    results: "multiprocessing.Queue[tuple[list[float], int]]",
) -> None:
    results.put(asyncio.run(_open_loop(url, api_key, rate, seconds)))


async def _open_loop(url: str, api_key: str, rate: int, seconds: float) -> tuple[list[float], int]:
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    latencies: list[float] = []
    failures = 0
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def one(index: int) -> None:
            nonlocal failures
            body = {"user_id": f"user-{index % 5000}", "event_type": "article_read"}
            started = time.perf_counter()
            try:
                response = await client.post(
                    "/api/partner/events", json=body, headers={"X-API-Key": api_key}
                )
            except httpx.HTTPError:
                failures += 1
                return
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200 or response.json().get("points_awarded") is None:
                failures += 1

        tasks = []
        start = time.perf_counter()
        for index in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + index / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(index)))
        await asyncio.gather(*tasks)
    return latencies, failures


def sync_path(url: str, api_key: str, rate: int, seconds: float) -> tuple[float, float, float]:
    """(p50 ms, p99 ms, achieved answers per second) of the answer-with-points path."""
    results: multiprocessing.Queue[tuple[list[float], int]] = multiprocessing.Queue()
    started = time.perf_counter()
    loader = multiprocessing.Process(target=open_loop, args=(url, api_key, rate, seconds, results))
    loader.start()
    latencies, failures = results.get(timeout=seconds * 10 + 60)
    loader.join()
    elapsed = time.perf_counter() - started
    if failures:
        print(f"{failures} requests failed or were answered without points", flush=True)
    ordered = sorted(latencies)
    p50, p99 = ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.99) - 1]
    return p50 * 1000, p99 * 1000, len(ordered) / elapsed


def async_path(url: str, api_key: str, seconds: float) -> float:
    """Accepted events per second on the 202 path (closed loop, as fast as answered)."""
    wrk = shutil.which("wrk") or _install_wrk()
    output = subprocess.run(
        [wrk, "-t2", "-c64", f"-d{int(seconds)}s", "-s", str(WRK_SCRIPT), "-H",
         f"X-API-Key: {api_key}", f"{url}/api/partner/events"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        raise RuntimeError(f"{non_2xx.group(1)} requests were not accepted:\n{output}")
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if found is None:
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    return float(found.group(1))


def _install_wrk() -> str:
    """wrk comes from Debian's packages; as root the bench installs it, as anyone else it asks."""
    if os.geteuid() != 0:
        raise RuntimeError("wrk is required for the 202 path: sudo apt-get install wrk")
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    return shutil.which("wrk") or "wrk"


def start_system(settings: LocalSettings) -> tuple[bool, bool]:
    started = kafka.start(settings), postgres.start(settings)
    kafka.wait_ready(settings)
    postgres.wait_ready(settings)
    kafka.create_topics(settings)
    postgres.drop_database(settings, DATABASE)
    postgres.ensure_database(settings, DATABASE)
    db.migrate(settings.database_url(DATABASE))
    return started


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.gateway", description=__doc__)
    parser.add_argument("--sync-rate", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20.0)
    arguments = parser.parse_args()
    settings = LocalSettings().model_copy(
        update={
            "gateway_port": 28080,
            "processors_metrics_port": 29102,
            "ledger_metrics_port": 29103,
        }
    )
    kafka_started, postgres_started = start_system(settings)
    run = uuid.uuid4().hex[:8]
    try:
        api_key = asyncio.run(configure(settings, f"bench-{run}"))
        extra = {
            "LOYALTY_PROCESSORS_APP_ID": f"bench-processors-{run}",
            "LOYALTY_PROCESSORS_DATA_DIR": tempfile.mkdtemp(prefix="bench-processors-"),
            "LOYALTY_CONSUMER_GROUP": f"bench-ledger-{run}",
            "LOYALTY_LOG_LEVEL": "warn",
        }
        services.start_all(settings, DATABASE, prefix=PREFIX, extra_env=extra)
        services.wait_for_gateway(settings, prefix=PREFIX)
        url = f"http://127.0.0.1:{settings.gateway_port}"
        _warm_up(url, api_key)
        p50, p99, rate = sync_path(url, api_key, arguments.sync_rate, arguments.seconds)
        print(f"answer-with-points: p50 {p50:.1f} ms, p99 {p99:.1f} ms at {rate:.0f}/s", flush=True)
        async_url = _start_async_gateway(settings, extra)
        accepted = async_path(async_url, api_key, arguments.seconds)
        print(f"202 path: {accepted:.0f} accepted events/s", flush=True)
    finally:
        processes.stop(f"{ASYNC_PREFIX}gateway")
        services.stop_all(prefix=PREFIX)
        if kafka_started:
            kafka.stop()
        if postgres_started:
            postgres.stop()
    print(f"RESULT sync_p99_ms={p99:.1f} sync_rate={rate:.0f} async_events_per_s={accepted:.0f}")


def _warm_up(url: str, api_key: str) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        for index in range(50):
            body = {"user_id": f"warm-{index}", "event_type": "article_read"}
            client.post("/api/partner/events", json=body, headers={"X-API-Key": api_key})


def _start_async_gateway(settings: LocalSettings, extra: dict[str, str]) -> str:
    port = settings.gateway_port + 1
    env = services.environment(settings, "gateway", DATABASE) | extra
    env |= {"LOYALTY_GATEWAY_PORT": str(port), "LOYALTY_OUTCOME_WAIT_MS": "0"}
    processes.start(f"{ASYNC_PREFIX}gateway", [sys.executable, "-m", "gateway"], env=env, cwd=REPO)
    async_settings = settings.model_copy(update={"gateway_port": port})
    services.wait_for_gateway(async_settings, prefix=ASYNC_PREFIX)
    return f"http://127.0.0.1:{port}"


if __name__ == "__main__":
    main()

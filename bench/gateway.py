"""`python -m bench.gateway`: the partner API under load, with the whole system co-located.

Starts its own set of services (gateway, processors, ledger writer; Kafka and Postgres if they
are not running) on a fresh database, with a partner whose rate limit does not interfere. Then:
- the answer-with-points path: an open-loop load of `--sync-rate` POSTs a second for
  `--seconds`, from a separate process with a minimal keep-alive HTTP client (each request
  leaves on schedule, whether or not earlier ones were answered, and its latency counts from
  that schedule, so a stalled client cannot hide a slow server); every answer must carry
  `points_awarded`; latency percentiles;
- the 202 path: a second gateway instance that answers without waiting (outcome wait 0), driven
  closed-loop by wrk for `--seconds`, with the gateway's CPU time per request (which other jobs
  on the machine disturb less than the rate).
With `--instances N` both paths run on N gateway instances (the same settings, one partner,
whose rate limit they share through Postgres): the open loop sends its requests to them in turn
(a round-robin balancer), and the 202 path is measured first on one instance, then on N, each
driven by its own wrk with its share of the connections; the ratio of the two rates is the
scale-out's (on 2 cores, with Kafka, Postgres and the other services co-located, it cannot be N).
The run's topics, consumer groups and database are its own, so no earlier run's records are
read. `--service-env NAME=VALUE` passes a setting to every service (`LOYALTY_BATCH_WAIT_MS=5`).
Ends with `RESULT sync_p99_ms=N sync_rate=R async_events_per_s=M`, and with `--instances N`
also `instances=N async_events_per_s_1=O async_ratio=M/O`.
"""

import argparse
import asyncio
import itertools
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import asyncpg
import httpx
import orjson
import uvloop

from deploy import db
from deploy.kafka_tools import delete_topics_of, run_topics
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


async def configure(settings: LocalSettings, programme_id: str, config_topic: str) -> str:
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
    await programmes.publish(settings.kafka_bootstrap_servers, [config], config_topic)
    return key.secret


SYNC_CONNECTIONS_MAX = 2_048


class KeepAliveClient:
    """Just enough HTTP/1.1 for the load: POST a JSON body on a kept-alive connection, read the
    status and a Content-Length body. Each request takes an idle connection or opens one (at most
    SYNC_CONNECTIONS_MAX), so a slow answer never holds the next request back; httpx costs the
    load process about ten times as much CPU per request."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self._port = port
        extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self._head = f"Host: 127.0.0.1\r\nContent-Type: application/json\r\n{extra}"
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._slots = asyncio.Semaphore(SYNC_CONNECTIONS_MAX)

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        async with self._slots:
            reused = bool(self._idle)
            if reused:
                reader, writer = self._idle.pop()
            else:
                reader, writer = await asyncio.open_connection("127.0.0.1", self._port)
            try:
                answer = await self._exchange(reader, writer, path, body)
            except (ConnectionError, asyncio.IncompleteReadError, ValueError):
                writer.close()
                if not reused:
                    raise
                # The server closed the idle connection (keep-alive timeout): once more, anew.
                reader, writer = await asyncio.open_connection("127.0.0.1", self._port)
                answer = await self._exchange(reader, writer, path, body)
            self._idle.append((reader, writer))
            return answer

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, body: bytes
    ) -> tuple[int, bytes]:
        request = f"POST {path} HTTP/1.1\r\n{self._head}Content-Length: {len(body)}\r\n\r\n"
        writer.write(request.encode() + body)
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionResetError("the server closed the connection")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await reader.readexactly(length)


def open_loop(
    ports: list[int],
    api_key: str,
    rate: int,
    seconds: float,
    results: "multiprocessing.Queue[tuple[list[float], Counter[str]]]",
) -> None:
    results.put(uvloop.run(_open_loop(ports, api_key, rate, seconds)))


async def _open_loop(
    ports: list[int], api_key: str, rate: int, seconds: float
) -> tuple[list[float], Counter[str]]:
    """Latencies, and the failures by instance and kind."""
    # One client per instance, taken in turn: a round-robin balancer in front of them.
    clients = [KeepAliveClient(port, {"X-API-Key": api_key}) for port in ports]
    latencies: list[float] = []
    failures: Counter[str] = Counter()

    async def one(index: int, scheduled: float) -> None:
        instance = index % len(clients)
        body = b'{"user_id": "user-%d", "event_type": "article_read"}' % (index % 5000)
        try:
            status, answer = await clients[instance].post("/api/partner/events", body)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            failures[f"instance {instance}: {type(exc).__name__}"] += 1
            return
        latencies.append(time.perf_counter() - scheduled)
        if status != 200 or orjson.loads(answer).get("points_awarded") is None:
            failures[f"instance {instance}: {status} {_answer_kind(status, answer)}"] += 1

    tasks = []
    start = time.perf_counter()
    for index in range(int(rate * seconds)):
        scheduled = start + index / rate
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        tasks.append(asyncio.create_task(one(index, scheduled)))
    await asyncio.gather(*tasks)
    return latencies, failures


def _answer_kind(status: int, answer: bytes) -> str:
    """The error code, or what a success lacked (202: the outcome was not in within the wait)."""
    try:
        body = orjson.loads(answer)
    except orjson.JSONDecodeError:
        return "not JSON"
    if not isinstance(body, dict):
        return "not an object"
    return str(body.get("error") or ("pending" if status == 202 else "without points"))


def sync_path(
    ports: list[int], api_key: str, rate: int, seconds: float
) -> tuple[float, float, float]:
    """(p50 ms, p99 ms, achieved answers per second) of the answer-with-points path."""
    results: multiprocessing.Queue[tuple[list[float], Counter[str]]] = multiprocessing.Queue()
    started = time.perf_counter()
    loader = multiprocessing.Process(
        target=open_loop, args=(ports, api_key, rate, seconds, results)
    )
    loader.start()
    latencies, failures = results.get(timeout=seconds * 10 + 60)
    loader.join()
    elapsed = time.perf_counter() - started
    if failures:
        print(
            f"{failures.total()} requests failed or were answered without points:",
            ", ".join(f"{count} {kind}" for kind, count in failures.most_common(5)),
            flush=True,
        )
    ordered = sorted(latencies)
    p50, p99 = ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.99) - 1]
    return p50 * 1000, p99 * 1000, len(ordered) / elapsed


WRK_CONNECTIONS = 64


def async_path(
    urls: list[str], api_key: str, seconds: float, gateway_pids: list[int]
) -> tuple[float, float]:
    """Accepted events per second on the 202 path (closed loop, as fast as answered), all
    instances together, and the gateways' CPU milliseconds per request. One wrk per instance,
    at once, sharing WRK_CONNECTIONS between them (with one instance, wrk's two threads)."""
    wrk = shutil.which("wrk") or _install_wrk()
    threads = 2 if len(urls) == 1 else 1
    connections = WRK_CONNECTIONS // len(urls)
    cpu_before_s = sum(processes.cpu_seconds(pid) for pid in gateway_pids)
    loads = [
        subprocess.Popen(
            [
                wrk,
                f"-t{threads}",
                f"-c{connections}",
                f"-d{int(seconds)}s",
                "-s",
                str(WRK_SCRIPT),
                "-H",
                f"X-API-Key: {api_key}",
                f"{url}/api/partner/events",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for url in urls
    ]
    outputs = [load.communicate(timeout=seconds + 60)[0] for load in loads]
    cpu_s = sum(processes.cpu_seconds(pid) for pid in gateway_pids) - cpu_before_s
    rate, requests = 0.0, 0
    for load, output in zip(loads, outputs, strict=True):
        if load.returncode != 0:
            raise RuntimeError(f"wrk failed ({load.returncode}):\n{output}")
        one_rate, one_requests = _wrk_figures(output)
        rate, requests = rate + one_rate, requests + one_requests
    return rate, cpu_s * 1000 / max(1, requests)


def _wrk_figures(output: str) -> tuple[float, int]:
    """(requests per second, requests) from wrk's report; any refusal fails the run."""
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        raise RuntimeError(f"{non_2xx.group(1)} requests were not accepted:\n{output}")
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    requests = re.search(r"(\d+) requests in", output)
    if found is None or requests is None:
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    return float(found.group(1)), int(requests.group(1))


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
    parser.add_argument("--service-env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument(
        "--instances", type=int, default=1, help="gateway instances behind one partner (1-8)"
    )
    arguments = parser.parse_args()
    if not 1 <= arguments.instances <= INSTANCES_MAX:
        parser.error(f"--instances must be from 1 to {INSTANCES_MAX}")
    settings = LocalSettings().model_copy(
        update={
            "gateway_port": 28080,
            "processors_metrics_port": 29102,
            "ledger_metrics_port": 29103,
            "webhooks_metrics_port": 29104,
        }
    )
    kafka_started, postgres_started = start_system(settings)
    run = uuid.uuid4().hex[:8]
    try:
        topics = asyncio.run(
            run_topics(
                settings.kafka_bootstrap_servers, settings.kafka_partitions, PREFIX[:-1], run
            )
        )
        api_key = asyncio.run(configure(settings, f"bench-{run}", topics["LOYALTY_CONFIG_TOPIC"]))
        extra = topics | {
            "LOYALTY_PROCESSORS_APP_ID": f"bench-processors-{run}",
            "LOYALTY_PROCESSORS_DATA_DIR": tempfile.mkdtemp(prefix="bench-processors-"),
            "LOYALTY_CONSUMER_GROUP": f"bench-ledger-{run}",
            "LOYALTY_LOG_LEVEL": "warn",
        }
        extra |= dict(setting.split("=", 1) for setting in arguments.service_env)
        services.start_all(settings, DATABASE, prefix=PREFIX, extra_env=extra)
        services.wait_for_gateway(settings, prefix=PREFIX)
        sync_ports = [settings.gateway_port]
        for index in range(1, arguments.instances):
            port = SYNC_EXTRA_PORT + index
            _start_extra_gateway(settings, extra, port, f"{PREFIX}gateway-{index}")
            sync_ports.append(port)
        for port in sync_ports:
            _warm_up(f"http://127.0.0.1:{port}", api_key)
        p50, p99, rate = sync_path(sync_ports, api_key, arguments.sync_rate, arguments.seconds)
        print(
            f"answer-with-points on {len(sync_ports)} instance(s): p50 {p50:.1f} ms,"
            f" p99 {p99:.1f} ms at {rate:.0f}/s",
            flush=True,
        )
        async_url, async_pid = _start_async_gateway(settings, extra)
        accepted, cpu_ms = async_path([async_url], api_key, arguments.seconds, [async_pid])
        print(f"202 path: {accepted:.0f} accepted events/s, gateway CPU {cpu_ms:.3f} ms/request")
        accepted_one = accepted
        if arguments.instances > 1:
            urls, pids = [async_url], [async_pid]
            for index in range(1, arguments.instances):
                port = ASYNC_EXTRA_PORT + index
                name = f"{ASYNC_PREFIX}gateway-{index}"
                env = extra | {"LOYALTY_OUTCOME_WAIT_MS": "0"}
                url, pid = _start_extra_gateway(settings, env, port, name)
                urls.append(url)
                pids.append(pid)
            accepted, cpu_ms = async_path(urls, api_key, arguments.seconds, pids)
            print(
                f"202 path on {len(urls)} instances: {accepted:.0f} accepted events/s"
                f" ({accepted / accepted_one:.2f} times one), gateway CPU {cpu_ms:.3f} ms/request",
                flush=True,
            )
    finally:
        processes.stop(f"{ASYNC_PREFIX}gateway")
        for index in range(1, arguments.instances):
            processes.stop(f"{ASYNC_PREFIX}gateway-{index}")
            processes.stop(f"{PREFIX}gateway-{index}")
        services.stop_all(prefix=PREFIX)
        # The run's topics, faust's among them (its app id holds the run's id).
        asyncio.run(delete_topics_of(settings.kafka_bootstrap_servers, run))
        if kafka_started:
            kafka.stop()
        if postgres_started:
            postgres.stop()
    result = f"RESULT sync_p99_ms={p99:.1f} sync_rate={rate:.0f} async_events_per_s={accepted:.0f}"
    if arguments.instances > 1:
        result += (
            f" instances={arguments.instances} async_events_per_s_1={accepted_one:.0f}"
            f" async_ratio={accepted / accepted_one:.2f}"
        )
    print(result)


WARM_UP_S_MIN = 3.0
WARM_UP_S_MAX = 90.0
WARM_ANSWERS = 20  # in a row, each with points within WARM_ANSWER_S
WARM_ANSWER_S = 0.25


def _warm_up(url: str, api_key: str) -> None:
    """Until the system answers steadily: the processors' group settles a few seconds after they
    start, and a load started earlier measures that instead of the steady state."""
    started = time.monotonic()
    in_a_row = 0
    with httpx.Client(base_url=url, timeout=30) as client:
        for index in itertools.count():
            elapsed = time.monotonic() - started
            if elapsed > WARM_UP_S_MAX:
                raise RuntimeError(f"no steady answers with points after {WARM_UP_S_MAX:.0f}s")
            if elapsed > WARM_UP_S_MIN and in_a_row >= WARM_ANSWERS:
                return
            body = {"user_id": f"warm-{index % 500}", "event_type": "article_read"}
            sent = time.monotonic()
            response = client.post("/api/partner/events", json=body, headers={"X-API-Key": api_key})
            steady = response.status_code == 200 and time.monotonic() - sent < WARM_ANSWER_S
            in_a_row = in_a_row + 1 if steady else 0


INSTANCES_MAX = 8
# Ports of the extra instances: the answer-with-points ones from 28090, the 202 ones from 28100.
SYNC_EXTRA_PORT = 28090
ASYNC_EXTRA_PORT = 28100


def _start_extra_gateway(
    settings: LocalSettings, extra: dict[str, str], port: int, name: str
) -> tuple[str, int]:
    """One more instance on `port`, answering once this returns: (its URL, its pid)."""
    pid = services.start_gateway(settings, name, port, DATABASE, extra)
    services.wait_for(port, name)
    return f"http://127.0.0.1:{port}", pid


def _start_async_gateway(settings: LocalSettings, extra: dict[str, str]) -> tuple[str, int]:
    port = settings.gateway_port + 1
    env = services.environment(settings, "gateway", DATABASE) | extra
    env |= {"LOYALTY_GATEWAY_PORT": str(port), "LOYALTY_OUTCOME_WAIT_MS": "0"}
    name = f"{ASYNC_PREFIX}gateway"
    pid = processes.start(name, [sys.executable, "-m", "gateway"], env=env, cwd=REPO)
    async_settings = settings.model_copy(update={"gateway_port": port})
    services.wait_for_gateway(async_settings, prefix=ASYNC_PREFIX)
    return f"http://127.0.0.1:{port}", pid


if __name__ == "__main__":
    main()

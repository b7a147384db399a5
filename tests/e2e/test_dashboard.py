"""The dashboard resolves against the running system: a Prometheus of the test's own scrapes the
e2e processes every half second, a short load goes through them (partner events, an event no rule
pays, an award and a redemption by rule, bookings of a funded programme with a rule budget, and a
dead letter each for the processors and the ledger), and every panel query of
deploy/grafana/dashboards/loyalty.json returns data; every alert rule evaluates without error; and
the programme owner's figures are the ledger's."""

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import yaml

from deploy.local import prometheus
from deploy.local.settings import LocalSettings
from gateway.admin import programmes
from ledger.repository import fund_budget
from runtime.kafka import produce
from schemas.ledger import Booking, LedgerCommand, Lineage, TransactionType, Variety
from schemas.programme import ProgrammeConfig
from schemas.topics import user_key
from tests.e2e.conftest import DATABASE, PREFIX, PROMETHEUS_PORT, Credentials, RunTopics, new_user

pytestmark = pytest.mark.e2e
DASHBOARD = Path(__file__).resolve().parents[2] / "deploy/grafana/dashboards/loyalty.json"
ALERTS = prometheus.CONFIGURATION / "alerts.yml"
SCRAPE_INTERVAL_S = 0.5
DEADLINE_S = 90.0


@pytest.fixture(scope="module")
def prometheus_url(
    system: tuple[LocalSettings, Credentials], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    settings = system[0].model_copy(update={"prometheus_port": PROMETHEUS_PORT})
    name = PREFIX + "prometheus"
    home = tmp_path_factory.mktemp("prometheus")
    prometheus.start(settings, name=name, home=home, scrape_interval_s=SCRAPE_INTERVAL_S)
    try:
        prometheus.wait_ready(settings, name=name)
        yield prometheus.url(settings)
    finally:
        prometheus.stop(name)


@pytest.fixture
async def api(prometheus_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=prometheus_url, timeout=10.0) as client:
        yield client


def panel_queries() -> list[tuple[str, str]]:
    """(panel title and refId, expr) of every target of every panel."""
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        (f"{panel['title']} [{target['refId']}]", target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


async def query(api: httpx.AsyncClient, expr: str) -> list[dict[str, Any]]:
    response = await api.get("/api/v1/query", params={"query": expr})
    assert response.status_code == 200, f"{expr}: {response.text}"
    result: list[dict[str, Any]] = response.json()["data"]["result"]
    return result


async def value(api: httpx.AsyncClient, expr: str) -> float | None:
    result = await query(api, expr)
    return float(result[0]["value"][1]) if len(result) == 1 else None


async def funded_programme(settings: LocalSettings) -> str:
    """A funded programme with 10,000 points and a rule whose budget is 1,000 (stored only: its
    bookings below go to the ledger directly, as an internal service's would)."""
    programme_id = f"dash-{uuid.uuid4().hex[:8]}"
    config = ProgrammeConfig.model_validate(
        {
            "programme_id": programme_id,
            "version": 1,
            "budget": {"mode": "funded"},
            "event_types": [{"name": "purchase"}],
            "rules": [
                {
                    "rule_id": "launch",
                    "version": 1,
                    "event_type": "purchase",
                    "status": "active",
                    "default": True,
                    "points": 10,
                    "budget_max": 1_000,
                }
            ],
        }
    )
    async with asyncpg.create_pool(settings.database_url(DATABASE), min_size=1) as pool:
        await programmes.save(pool, config)
        async with pool.acquire() as conn:
            await fund_budget(conn, programme_id, 10_000, f"{programme_id}-funding")
    return programme_id


def ledger_command(programme_id: str, user_id: str, key: str, booking: Booking) -> bytes:
    command = LedgerCommand(
        command_id=key, programme_id=programme_id, user_id=user_id, bookings=[booking]
    )
    return command.model_dump_json().encode()


async def send_load(
    gateway: httpx.AsyncClient,
    credentials: Credentials,
    topics: dict[str, str],
    bootstrap: str,
    funded: str,
) -> None:
    partner = {"X-API-Key": credentials.partner}
    client = {"X-Client-Id": credentials.client_id, "X-Client-Secret": credentials.client_secret}
    for event_type in ("article_read", "article_read", "comment"):
        answer = await gateway.post(
            "/api/partner/events",
            json={"user_id": new_user(), "event_type": event_type},
            headers=partner,
        )
        assert answer.status_code == 200, answer.text
    user_id = new_user()
    for rule_id in ("bonus-25", "redeem-10"):
        answer = await gateway.post(
            f"/api/rules/{rule_id}/trigger", json={"user_id": user_id}, headers=client
        )
        assert answer.status_code == 200, answer.text
    buyer = new_user()
    award = Booking(
        idempotency_key=f"{funded}-award",
        transaction_type=TransactionType.CREDIT,
        variety=Variety.PROGRAMME_POINTS,
        points=10,
        reason="launch",
        lineage=Lineage(rule_id="launch", rule_version=1),
    )
    redemption = Booking(
        idempotency_key=f"{funded}-order",
        transaction_type=TransactionType.DEBIT,
        variety=Variety.REDEMPTION,
        points=4,
        reason="order",
    )
    key = user_key(funded, buyer)
    commands = [
        (key, ledger_command(funded, buyer, f"{funded}-award", award)),
        (key, ledger_command(funded, buyer, f"{funded}-order", redemption)),
        (key, b"not a command"),
    ]
    await produce(bootstrap, topics["LOYALTY_LEDGER_COMMANDS_TOPIC"], commands)
    await produce(bootstrap, topics["LOYALTY_EVENTS_TOPIC"], [(key, b"not an event")])


async def empty_panels(api: httpx.AsyncClient) -> list[str]:
    return [name for name, expr in panel_queries() if not await query(api, expr)]


async def test_every_panel_resolves_and_the_programme_figures_are_the_ledgers(
    system: tuple[LocalSettings, Credentials],
    gateway: httpx.AsyncClient,
    credentials: Credentials,
    session_topics: RunTopics,
    kafka_bootstrap: str,
    api: httpx.AsyncClient,
) -> None:
    funded = await funded_programme(system[0])
    await send_load(gateway, credentials, session_topics.settings, kafka_bootstrap, funded)
    expected = {
        f'loyalty_ledger_points_total{{programme="{funded}", flow="issued"}}': 10,
        f'loyalty_ledger_points_total{{programme="{funded}", flow="redeemed"}}': 4,
        f'loyalty_ledger_outstanding_points{{programme="{funded}"}}': 6,
        f'loyalty_ledger_budget_remaining_points{{programme="{funded}"}}': 9_990,
        f'loyalty_ledger_rule_budget_remaining_points{{programme="{funded}"}}': 990,
        f'loyalty_ledger_pending_points{{programme="{funded}"}}': 0,
        f'loyalty_webhook_backlog_deliveries{{programme="{funded}"}}': 0,
        # The console's periodic ledger check reached the new programme and found it clean.
        f'sum(loyalty_reconciliation_mismatches{{programme="{funded}"}})': 0,
        f'count(loyalty_reconciliation_mismatches{{programme="{funded}"}})': 6,
        # Counted since the processes started: other tests of the session may add their own.
        'sum(loyalty_ledger_dead_letters_total{reason="undecodable"}) >= bool 1': 1,
        'sum(loyalty_processor_dead_letters_total{reason="invalid_event"}) >= bool 1': 1,
    }
    # The processes publish their figures within a second or two; rate() and increase() need two
    # scrapes of a series born with the load.
    deadline = time.monotonic() + DEADLINE_S
    while True:
        wrong = {expr: await value(api, expr) for expr in expected}
        wrong = {expr: got for expr, got in wrong.items() if got != expected[expr]}
        empty = await empty_panels(api)
        if not (wrong or empty) or time.monotonic() > deadline:
            break
        await asyncio.sleep(SCRAPE_INTERVAL_S)
    assert wrong == {}
    assert empty == [], "panels without data"


async def test_every_alert_rule_evaluates(api: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        response = await api.get("/api/v1/rules")
        rules = [r for group in response.json()["data"]["groups"] for r in group["rules"]]
        evaluated = rules and all(not r["lastEvaluation"].startswith("0001") for r in rules)
        if evaluated or time.monotonic() > deadline:
            break
        await asyncio.sleep(SCRAPE_INTERVAL_S)
    assert {rule["name"]: rule["health"] for rule in rules} == {
        rule["name"]: "ok" for rule in rules
    }
    alerts = yaml.safe_load(ALERTS.read_text())
    assert {rule["name"] for rule in rules} == {
        rule["alert"] for group in alerts["groups"] for rule in group["rules"]
    }

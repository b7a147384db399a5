"""The console's browser tests: the real console process of the e2e system (tests/e2e/conftest)
driven by Playwright through Debian's Chromium (installed by deploy.local.chromium when absent),
with admins created by `loyalty-admin create-admin` as an operator would. Every main page is
saved as a screenshot under .local/screenshots/ (ignored by git) to be looked at."""

import asyncio
import os
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer
from playwright.async_api import Browser, Page, async_playwright

from deploy.local import chromium
from deploy.local.settings import LocalSettings
from schemas.topics import user_key
from tests.e2e.conftest import DATABASE, Credentials, RunTopics, admin_cli, new_user

REPO = Path(__file__).resolve().parents[3]
SCREENSHOTS = REPO / ".local" / "screenshots"
SETTINGS_PROGRAMME = "console-settings"
PARTNERS_PROGRAMME = "console-partners"


@dataclass(frozen=True)
class Account:
    email: str
    password: str
    token: str


@dataclass(frozen=True)
class Accounts:
    owner: Account
    editor: Account
    viewer: Account
    stranger: Account
    """An editor granted no programme."""


@pytest.fixture(scope="session")
def console_url(system: tuple[LocalSettings, Credentials]) -> str:
    return f"http://127.0.0.1:{system[0].console_port}"


@pytest.fixture(scope="session")
def gateway_url(system: tuple[LocalSettings, Credentials]) -> str:
    return f"http://127.0.0.1:{system[0].gateway_port}"


@pytest.fixture(scope="session")
def admin_env(
    system: tuple[LocalSettings, Credentials], kafka_bootstrap: str, session_topics: RunTopics
) -> dict[str, str]:
    return {
        **os.environ,
        "LOYALTY_DATABASE_URL": system[0].database_url(DATABASE),
        "LOYALTY_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "LOYALTY_CONFIG_TOPIC": session_topics.config,
    }


async def create_account(env: dict[str, str], role: str, *grants: str) -> Account:
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    options = [arg for programme in grants for arg in ("--programme", programme)]
    if role == "owner":
        options = ["--all-programmes"]
    made = await admin_cli(
        env, "create-admin", "--email", email, "--role", role, *options, "--generate-password"
    )
    assert made.status == 0, made
    found = re.search(r"password \(shown once\): (\S+)", made.stdout)
    assert found is not None, made.stdout
    token = await admin_cli(env, "create-token", "--email", email, "--name", "e2e tests")
    assert token.status == 0, token
    return Account(email, found[1], token.stdout.strip())


@pytest.fixture(scope="session")
async def accounts(admin_env: dict[str, str]) -> Accounts:
    granted = (SETTINGS_PROGRAMME, PARTNERS_PROGRAMME)
    made = await asyncio.gather(
        create_account(admin_env, "owner"),
        create_account(admin_env, "editor", *granted),
        create_account(admin_env, "viewer", *granted),
        create_account(admin_env, "editor"),
    )
    return Accounts(*made)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    executable = chromium.executable()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(executable), args=list(chromium.ARGUMENTS)
        )
        yield launched
        await launched.close()


@pytest.fixture
async def page(browser: Browser, console_url: str) -> AsyncIterator[Page]:
    """A fresh browser context (no cookies) per test."""
    context = await browser.new_context(
        base_url=console_url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    opened = await context.new_page()
    yield opened
    await context.close()


@pytest.fixture
async def api(console_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{console_url}/admin/api/v1", timeout=30.0) as client:
        yield client


@pytest.fixture
async def gateway_client(gateway_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30.0) as client:
        yield client


async def log_in(page: Page, account: Account) -> None:
    await page.goto("/login")
    await page.get_by_label("Email").fill(account.email)
    await page.get_by_label("Password").fill(account.password)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url("**/")


async def settled(page: Page) -> None:
    """Until htmx has finished its requests and swaps: swapped-in content gets its htmx
    behaviour in the settle step (20 ms after the swap), so a change made sooner, as only a
    robot can, would go unheard."""
    await page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


async def screenshot(page: Page, name: str) -> Path:
    """A main page as a person sees it, for looking at after the run."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def publish_reads(
    kafka_bootstrap: str, topic: str, programme: str, first_ago: timedelta
) -> datetime:
    """Two reads for each of three new users `first_ago` and again an hour ago (12 events),
    straight to the events topic; answers when they were sent."""
    now = datetime.now(UTC)
    users = [new_user() for _ in range(3)]
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for when in (now - first_ago, now - timedelta(hours=1)):
            for user in users:
                for minute in range(2):
                    event = {
                        "event_id": f"evt_reads_{uuid.uuid4().hex}", "programme_id": programme,
                        "user_id": user, "event_type": "read", "metadata": {},
                        "occurred_at": (when + timedelta(minutes=minute)).isoformat(),
                    }  # fmt: skip
                    await producer.send_and_wait(
                        topic, orjson.dumps(event), key=user_key(programme, user)
                    )
    finally:
        await producer.stop()
    return now


def bearer(account: Account) -> dict[str, str]:
    return {"Authorization": f"Bearer {account.token}"}


# ---- The rules, event types and API clients pages (test_rules*.py) ---------------------------

RULES_PROGRAMME = "console-rules"


@dataclass(frozen=True)
class RulesAccounts:
    owner: Account
    editor: Account
    viewer: Account
    """The editor and the viewer are granted RULES_PROGRAMME only."""


@pytest.fixture(scope="session")
async def rules_accounts(admin_env: dict[str, str]) -> RulesAccounts:
    made = await asyncio.gather(
        create_account(admin_env, "owner"),
        create_account(admin_env, "editor", RULES_PROGRAMME),
        create_account(admin_env, "viewer", RULES_PROGRAMME),
    )
    return RulesAccounts(*made)

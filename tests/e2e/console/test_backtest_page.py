"""The console's backtest page on a real history (events decided by the processors, archived and
booked by the ledger writer): the stored configuration reproduces the journal, a pasted candidate
that doubles the rule doubles its points, bad YAML is refused beside the field with 400, and a
window replaying more events than the console's bound (8 in this session) is refused."""

import asyncio
from datetime import datetime, timedelta

import asyncpg
import pytest
import yaml
from playwright.async_api import Page, expect

from deploy.local.settings import LocalSettings
from ledger import reads
from tests.e2e.conftest import DATABASE, PROGRAMMES, Credentials, RunTopics
from tests.e2e.console.conftest import Accounts, log_in, publish_reads, screenshot

pytestmark = pytest.mark.e2e
PROGRAMME = "console-backtest"
SETTLED_WITHIN_S = 120.0


async def publish_history(kafka_bootstrap: str, topic: str, url: str) -> datetime:
    """Two reads for each of three users two days ago and again an hour ago (12 events, 2
    points each); answers a moment between the two batches, once all are archived."""
    now = await publish_reads(kafka_bootstrap, topic, PROGRAMME, timedelta(days=2))
    connection = await asyncpg.connect(url)
    try:
        deadline = asyncio.get_running_loop().time() + SETTLED_WITHIN_S
        while await reads.count_archived(connection, PROGRAMME) < 12:
            assert asyncio.get_running_loop().time() < deadline, "not all events were archived"
            await asyncio.sleep(0.5)
    finally:
        await connection.close()
    return now - timedelta(days=1)


async def run(page: Page, status: int) -> None:
    """Submits the form (htmx swaps the answer in) and checks the answer's status."""
    async with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/backtest")
    ) as answer:
        await page.get_by_role("button", name="Run the backtest").click()
    assert (await answer.value).status == status


async def test_a_backtest_from_the_console(
    page: Page,
    accounts: Accounts,
    system: tuple[LocalSettings, Credentials],
    session_topics: RunTopics,
    kafka_bootstrap: str,
) -> None:
    url = system[0].database_url(DATABASE)
    between = await publish_history(kafka_bootstrap, session_topics.events, url)
    await log_in(page, accounts.owner)
    await page.goto(f"/programmes/{PROGRAMME}")
    await page.get_by_role("link", name="Backtest").click()

    # The whole history is 12 events: more than the console replays here.
    await run(page, 400)
    await expect(page.get_by_text("this backtest would replay 12 archived events")).to_be_visible()
    await expect(page.get_by_label("To", exact=True)).to_have_attribute("aria-invalid", "true")

    # The stored configuration up to a day ago (6 events) reproduces what was booked.
    await page.get_by_label("To", exact=True).fill(between.isoformat())
    await run(page, 200)
    report = page.get_by_role("region", name="Backtest report")
    await expect(report).to_contain_text("6 events from the start to")
    await expect(report).to_contain_text("reproduces what was booked")
    await expect(report).to_contain_text("(12 points)")
    await screenshot(page, "programme-backtest-stored")

    # A candidate paying 4 a read doubles the rule's points.
    data = yaml.safe_load((PROGRAMMES / f"{PROGRAMME}.yaml").read_text())
    data["version"] = 2
    data["rules"][0] |= {"points": 4, "version": 2}
    await page.get_by_label("A candidate pasted below").check()
    await page.get_by_label("Candidate programme file").fill(yaml.safe_dump(data))
    await run(page, 200)
    report = page.get_by_role("region", name="Backtest report")
    await expect(report).to_contain_text("Candidate version 2")
    total = report.get_by_role("row").filter(has_text="points (net)")
    await expect(total).to_contain_text("12")
    await expect(total).to_contain_text("24")
    await expect(total).to_contain_text("+12")
    await screenshot(page, "programme-backtest-candidate")

    # Bad YAML: the problem beside the field, 400, no report.
    await page.get_by_label("Candidate programme file").fill("rules: [\n")
    await run(page, 400)
    await expect(page.get_by_text("not YAML at line")).to_be_visible()
    await expect(page.get_by_label("Candidate programme file")).to_have_attribute(
        "aria-invalid", "true"
    )
    await expect(page.get_by_role("region", name="Backtest report")).to_have_count(0)

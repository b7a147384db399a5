"""The console's shadow runs pages on the real services: an owner starts a run with a pasted
candidate that doubles the programme's one rule (bad YAML refused beside the field first); events
published through Kafka are decided and booked by the live pipeline and shadowed by
`loyalty-shadow`; the run's page compares them (a report reading more decisions than the
console's bound, 8 in this session, is refused until a period is chosen), the list shows the
run's sums as the admin API does, and the owner stops it. A viewer sees runs and reports but
neither starts nor stops one, a form without its CSRF token is refused, and a sixth running run
of the programme is refused with the reason (409)."""

import asyncio
import re
from datetime import datetime, timedelta

import asyncpg
import httpx
import pytest
import yaml
from playwright.async_api import Locator, Page, expect

from deploy.local.settings import LocalSettings
from evidence.shadow import store
from gateway.admin.service import shadow_runs
from tests.e2e.conftest import DATABASE, PROGRAMMES, Credentials, RunTopics
from tests.e2e.console.conftest import (
    Accounts,
    bearer,
    create_account,
    log_in,
    publish_reads,
    screenshot,
    settled,
)

pytestmark = pytest.mark.e2e
PROGRAMME = "console-shadow"
RUNS = f"/programmes/{PROGRAMME}/shadow-runs"
SHADOWED_WITHIN_S = 120.0


def candidate_text(points: int) -> str:
    data = yaml.safe_load((PROGRAMMES / f"{PROGRAMME}.yaml").read_text())
    data["version"] = 2
    data["rules"][0] |= {"points": points, "version": 2}
    return yaml.safe_dump(data)


async def publish_shadowed(kafka_bootstrap: str, topic: str) -> datetime:
    """Two reads for each of three users two hours ago and again an hour ago (12 events, 2
    points each live); answers a moment between the two batches."""
    now = await publish_reads(kafka_bootstrap, topic, PROGRAMME, timedelta(hours=2))
    return now - timedelta(minutes=90)


async def shadowed(url: str, run_id: int, count: int) -> None:
    """Until loyalty-shadow has stored `count` decisions of the run."""
    deadline = asyncio.get_running_loop().time() + SHADOWED_WITHIN_S
    async with asyncpg.create_pool(url, min_size=1, max_size=1) as pool:
        while (found := await store.get(pool, run_id)) is None or found.decisions < count:
            assert asyncio.get_running_loop().time() < deadline, f"run {run_id} is behind"
            await asyncio.sleep(0.5)


async def refused(page: Page, button: str, status: int) -> None:
    """Clicks the form's button (htmx boosts it) and checks the answer's status."""
    async with page.expect_response(lambda r: r.request.method == "POST") as answer:
        await page.get_by_role("button", name=button).click()
    assert (await answer.value).status == status
    await settled(page)


async def done(page: Page, button: str, notice: str) -> None:
    """Clicks the form's button; the change redirects to a page that says it is done."""
    await page.get_by_role("button", name=button).click()
    await settled(page)
    await expect(page.get_by_role("status")).to_contain_text(notice)


def tab(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Programme").get_by_role("link", name="Shadow runs")


async def test_an_owner_starts_a_shadow_run_and_sees_the_comparison(
    page: Page,
    accounts: Accounts,
    api: httpx.AsyncClient,
    system: tuple[LocalSettings, Credentials],
    session_topics: RunTopics,
    kafka_bootstrap: str,
) -> None:
    await log_in(page, accounts.owner)
    await page.goto(f"/programmes/{PROGRAMME}")
    await tab(page).click()
    await expect(page.get_by_role("heading", name="Shadow runs", exact=True)).to_be_visible()

    # Bad YAML: the problem beside the field, 400, no run.
    await page.get_by_label("A candidate pasted below").check()
    await page.get_by_label("Candidate programme file").fill("rules: [\n")
    await refused(page, "Start the shadow run", 400)
    await expect(page.get_by_text("not YAML at line")).to_be_visible()
    await expect(page.get_by_label("Candidate programme file")).to_have_attribute(
        "aria-invalid", "true"
    )

    # A candidate paying 4 a read: started, and its page shown.
    await page.get_by_label("Candidate programme file").fill(candidate_text(4))
    await done(page, "Start the shadow run", "Started")
    heading = page.get_by_role("heading", name=re.compile(r"^Shadow run \d+"))
    found = re.match(r"Shadow run (\d+)", await heading.inner_text())
    assert found
    run_id = int(found[1])

    between = await publish_shadowed(kafka_bootstrap, session_topics.events)
    await shadowed(system[0].database_url(DATABASE), run_id, 12)
    await page.goto(f"{RUNS}/{run_id}")
    await expect(page.get_by_text("24 / 48 (+24)")).to_be_visible()
    # 12 decisions are more than this session's console reads for one report.
    await expect(page.get_by_text("this report would read 12 decisions")).to_be_visible()
    await expect(page.get_by_role("region", name="Shadow run report")).to_have_count(0)

    # The last hour's 6 reads: 12 points live, 24 under the candidate.
    await page.get_by_label("From", exact=True).fill(between.isoformat())
    await page.get_by_role("button", name="Show the report").click()
    await settled(page)
    report = page.get_by_role("region", name="Shadow run report")
    await expect(report).to_contain_text("6 events from")
    await expect(report).to_contain_text("gave every live decision")
    totals = report.get_by_role("table", name="Totals")
    total = totals.get_by_role("row").filter(has_text="points (net)")
    await expect(total).to_contain_text("12")
    await expect(total).to_contain_text("24")
    await expect(total).to_contain_text("+12")
    await screenshot(page, "programme-shadow-run")

    # The list shows the run's sums, as the admin API does.
    await tab(page).click()
    await settled(page)
    row = page.get_by_role("row").filter(
        has=page.get_by_role("link", name=f"Run {run_id}", exact=True)
    )
    cells = row.get_by_role("cell")
    # Candidate, started, stopped, events compared, points live, candidate, change, users
    # affected, status.
    for index, text in ((0, "version 2"), (3, "12"), (4, "24"), (5, "48"), (6, "+24"),
                        (7, "3"), (8, "running")):  # fmt: skip
        await expect(cells.nth(index)).to_have_text(text)
    await screenshot(page, "programme-shadow-runs")
    listed = await api.get(RUNS, headers=bearer(accounts.owner))
    run = next(found for found in listed.json() if found["run_id"] == run_id)
    assert (run["decisions"], run["live_points"], run["candidate_points"]) == (12, 24, 48)
    assert run["users_affected"] == 3

    # A stop without the session's CSRF token is refused; the button stops it.
    forged = await page.request.post(f"{RUNS}/{run_id}/stop", form={})
    assert forged.status == 403
    await page.get_by_role("link", name=f"Run {run_id}", exact=True).click()
    await settled(page)
    await done(page, "Stop the run", "Stopped")
    await expect(page.get_by_role("button", name="Stop the run")).to_have_count(0)
    stopped = await api.get(f"/shadow-runs/{run_id}", headers=bearer(accounts.owner))
    assert stopped.json()["status"] == "stopped"


async def test_a_viewer_sees_shadow_runs_but_starts_and_stops_none(
    page: Page, accounts: Accounts, api: httpx.AsyncClient, admin_env: dict[str, str]
) -> None:
    viewer = await create_account(admin_env, "viewer", PROGRAMME)
    started = await api.post(RUNS, json={"candidate": candidate_text(3)},
                             headers=bearer(accounts.owner))  # fmt: skip
    assert started.status_code == 201, started.text
    run_id = started.json()["run_id"]
    try:
        await log_in(page, viewer)
        await page.goto(RUNS)
        await expect(page.get_by_role("link", name=f"Run {run_id}", exact=True)).to_be_visible()
        await expect(page.get_by_role("button", name="Start the shadow run")).to_have_count(0)
        await page.get_by_role("link", name=f"Run {run_id}", exact=True).click()
        await settled(page)
        await expect(page.get_by_role("region", name="Shadow run report")).to_be_visible()
        await expect(page.get_by_role("button", name="Stop the run")).to_have_count(0)

        csrf = await page.locator("input[name=csrf_token]").first.input_value()
        for path, form in [
            (f"{RUNS}/{run_id}/stop", {}),
            (RUNS, {"source": "candidate", "candidate": candidate_text(3)}),
        ]:
            posted = await page.request.post(path, form={"csrf_token": csrf, **form})
            assert posted.status == 403, path
        run = await api.get(f"/shadow-runs/{run_id}", headers=bearer(accounts.owner))
        assert run.json()["status"] == "running"
    finally:
        await api.post(f"/shadow-runs/{run_id}/stop", headers=bearer(accounts.owner))


async def test_a_sixth_running_run_is_refused_with_the_reason(
    page: Page, accounts: Accounts, api: httpx.AsyncClient
) -> None:
    listed = await api.get(RUNS, headers=bearer(accounts.owner))
    running = [run["run_id"] for run in listed.json() if run["status"] == "running"]
    try:
        while len(running) < shadow_runs.RUNNING_PER_PROGRAMME_MAX:
            started = await api.post(RUNS, json={"candidate": candidate_text(3)},
                                     headers=bearer(accounts.owner))  # fmt: skip
            assert started.status_code == 201, started.text
            running.append(started.json()["run_id"])
        await log_in(page, accounts.owner)
        await page.goto(RUNS)
        await refused(page, "Start the shadow run", 409)
        await expect(page.get_by_role("alert")).to_contain_text("stop one first")
        after = await api.get(RUNS, headers=bearer(accounts.owner))
        assert sum(run["status"] == "running" for run in after.json()) == len(running)
    finally:
        for run_id in running:
            await api.post(f"/shadow-runs/{run_id}/stop", headers=bearer(accounts.owner))

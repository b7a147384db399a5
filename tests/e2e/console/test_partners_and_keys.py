"""Partners and their API keys in the console: a partner added with its allowed event types and
multiplier, a key issued (shown once) that the partner API accepts, a changed rate limit that
the partner API enforces, the key's last use, and its revocation."""

import asyncio
import time
import uuid

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import new_user
from tests.e2e.console.conftest import PARTNERS_PROGRAMME, Accounts, log_in, screenshot

pytestmark = pytest.mark.e2e
APPLIED_WITHIN_S = 30.0


async def purchase(client: httpx.AsyncClient, key: str, amount: float = 10) -> httpx.Response:
    return await client.post(
        "/api/partner/events",
        json={"user_id": new_user(), "event_type": "purchase", "metadata": {"amount": amount}},
        headers={"X-API-Key": key},
    )


async def test_a_partner_and_its_key_made_in_the_console_reach_the_partner_api(
    page: Page, accounts: Accounts, gateway_client: httpx.AsyncClient
) -> None:
    partner_id = f"cafe-{uuid.uuid4().hex[:6]}"
    await log_in(page, accounts.editor)
    await page.goto(f"/programmes/{PARTNERS_PROGRAMME}/partners")
    await page.get_by_label("Partner id").fill(partner_id)
    await page.get_by_label("Multiplier").fill("3")
    await page.get_by_label("purchase").check()
    await page.get_by_role("button", name="Add partner").click()
    await expect(page.get_by_role("status")).to_contain_text("is stored and published")
    await expect(page.get_by_role("row").filter(has_text=partner_id)).to_contain_text("purchase")
    await screenshot(page, "programme-partners")

    await page.get_by_role("link", name="API keys").click()
    # The tab's page is swapped in by htmx: wait for it, or "Partner" is still this page's input.
    await expect(page.get_by_role("heading", name="Partner API keys")).to_be_visible()
    await page.get_by_label("Partner", exact=True).select_option(partner_id)
    await page.get_by_role("button", name="Issue key").click()
    await expect(page.get_by_text("it is shown this once")).to_be_visible()
    key = await page.get_by_label("API key (production)").input_value()
    assert key.startswith("lk_live_")
    await screenshot(page, "programme-key-issued")

    # 10 GHS at one point a GHS, times the partner's 3.
    answer = await purchase(gateway_client, key)
    assert answer.status_code == 200, answer.text
    assert answer.json()["points_awarded"] == 30

    await page.get_by_role("link", name="Done").click()
    row = page.get_by_role("row").filter(has_text=key[: len("lk_live_") + 12])
    deadline = time.monotonic() + APPLIED_WITHIN_S
    while "never" in (await row.inner_text()) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        await page.reload()
    await expect(row.get_by_role("cell").nth(4)).not_to_have_text("never")
    await screenshot(page, "programme-keys")

    # A rate limit of one event a minute: the partner API refuses the next event (429).
    await page.goto(f"/programmes/{PARTNERS_PROGRAMME}/partners/{partner_id}")
    await page.get_by_label("Rate limit (events a minute)").fill("1")
    await page.get_by_role("button", name="Save partner").click()
    await expect(page.get_by_role("status")).to_contain_text("is stored and published")
    deadline = time.monotonic() + APPLIED_WITHIN_S
    statuses: list[int] = []
    while 429 not in statuses and time.monotonic() < deadline:
        statuses.append((await purchase(gateway_client, key)).status_code)
        await asyncio.sleep(0.2)
    assert statuses[-1] == 429, statuses

    await page.get_by_role("link", name="API keys").click()
    await row.get_by_role("button", name="Revoke").click()
    await expect(page.get_by_role("status")).to_contain_text("revoked")
    await expect(row).to_contain_text("revoked")


async def test_a_partner_is_removed_only_after_a_confirmation(
    page: Page, accounts: Accounts
) -> None:
    partner_id = f"gone-{uuid.uuid4().hex[:6]}"
    await log_in(page, accounts.editor)
    await page.goto(f"/programmes/{PARTNERS_PROGRAMME}/partners")
    await page.get_by_label("Partner id").fill(partner_id)
    await page.get_by_role("button", name="Add partner").click()
    await page.get_by_role("link", name=f"Edit {partner_id}").click()
    await page.get_by_role("link", name="Remove partner…").click()
    await expect(page.get_by_role("heading", name=f"Remove partner {partner_id}?")).to_be_visible()
    await page.get_by_role("button", name=f"Remove {partner_id}").click()
    await expect(page.get_by_role("status")).to_contain_text(f"Partner {partner_id} removed")
    await expect(page.get_by_role("row").filter(has_text=partner_id)).to_have_count(0)

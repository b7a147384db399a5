"""'Try an event' in the console and its admin-API twin: the processors decide an event against
the user's real state (a cap reached through the partner API shows), a draft rule changes the
result only when drafts are included, the parameters' inputs follow the event type, and nothing
is stored."""

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import new_user
from tests.e2e.console.conftest import Accounts, bearer, log_in, screenshot, settled

pytestmark = pytest.mark.e2e
TRY_PROGRAMME = "console-try"


async def try_it(page: Page) -> None:
    """Submits the boosted form and waits for htmx to settle: the swapped-in event type select
    listens for changes only from then on."""
    await page.get_by_role("button", name="Try it").click()
    await settled(page)


async def test_trying_an_event_shows_the_points_and_each_rules_trace(
    page: Page, accounts: Accounts, api: httpx.AsyncClient, gateway_client: httpx.AsyncClient
) -> None:
    user = new_user()
    await log_in(page, accounts.owner)
    await page.goto(f"/programmes/{TRY_PROGRAMME}")
    await page.get_by_role("link", name="Try an event").click()
    await page.get_by_label("User id").fill(user)
    await page.get_by_label("Event type").select_option("share")
    await try_it(page)
    await expect(page.get_by_role("heading", name="4 points")).to_be_visible()
    result = page.get_by_role("region", name="4 points")
    await expect(result).to_contain_text("Nothing was stored")
    await expect(result.get_by_role("row").filter(has_text="share")).to_contain_text("awarded")
    await expect(result.get_by_role("row").filter(has_text="share-bonus")).to_have_count(0)
    await screenshot(page, "programme-try")

    # The draft rule, tried first, pays 20 only when the drafts are included.
    await page.get_by_label("Include draft rules").check()
    await try_it(page)
    await expect(page.get_by_role("heading", name="20 points")).to_be_visible()
    bonus = page.get_by_role("row").filter(has_text="share-bonus")
    await expect(bonus).to_contain_text("awarded")
    await expect(page.get_by_text("with the draft rules active")).to_be_visible()
    await screenshot(page, "programme-try-drafts")
    await page.get_by_label("Include draft rules").uncheck()
    await try_it(page)
    await expect(page.get_by_role("heading", name="4 points")).to_be_visible()

    # The user's real state: two shares published as the shop (x2: 8, then the 10 a day's 2).
    issued = await api.post(
        f"/programmes/{TRY_PROGRAMME}/api-keys", json={"partner_id": "shop"},
        headers=bearer(accounts.owner),
    )  # fmt: skip
    assert issued.status_code == 201, issued.text
    key = {"X-API-Key": issued.json()["key"]}
    for expected in (8, 2):
        body = {"user_id": user, "event_type": "share"}
        published = await gateway_client.post("/api/partner/events", json=body, headers=key)
        assert published.json()["points_awarded"] == expected, published.text
    await page.get_by_label("As partner").select_option("shop")
    await try_it(page)
    await expect(page.get_by_role("heading", name="0 points")).to_be_visible()
    await expect(page.get_by_role("region", name="0 points")).to_contain_text("daily_cap")

    # The parameters' inputs follow the event type; a value of the wrong type is refused.
    await page.get_by_label("Event type").select_option("purchase")
    await expect(page.get_by_label("amount")).to_be_visible()
    await page.get_by_label("amount").fill("many")
    await try_it(page)
    await expect(page.get_by_text("must be float, not 'many'")).to_be_visible()
    await page.get_by_label("amount").fill("150")
    await page.get_by_label("gift").select_option("true")
    await try_it(page)
    await expect(page.get_by_role("heading", name="300 points")).to_be_visible()
    await screenshot(page, "programme-try-purchase")


async def test_the_admin_api_tries_events_and_stores_nothing(
    accounts: Accounts, api: httpx.AsyncClient, gateway_client: httpx.AsyncClient
) -> None:
    user = new_user()
    path = f"/programmes/{TRY_PROGRAMME}/try-event"
    owner = bearer(accounts.owner)
    body = {"user_id": user, "event_type": "share"}
    tried = [(await api.post(path, json=body, headers=owner)).json() for _ in range(3)]
    assert {(t["points"], t["status"]) for t in tried} == {(4, "awarded")}
    assert tried[0]["explanation"]["rules"][0]["rule_id"] == "share"
    drafts = await api.post(path, json=body | {"include_drafts": True}, headers=owner)
    assert (drafts.json()["points"], drafts.json()["drafts"]) == (20, True)
    undeclared = await api.post(path, json=body | {"event_type": "signup"}, headers=owner)
    assert undeclared.status_code == 400
    assert "event_type" in undeclared.json()["fields"]
    hidden = await api.post(path, json=body, headers=bearer(accounts.stranger))
    assert hidden.status_code == 404

"""Seed 001 in the browser, end to end: an API client made in the console (its secret shown
once), an earn rule with the API-trigger option, that client authorised, a cap max and start
and end dates, saved as a draft, activated through the confirmation that shows what changes,
"Share Rule ID" (the id in the clipboard, the panel, an email without the secret), then the
rule triggered over HTTP with the client's id and secret: the points and their explanation on
the user's page. A redemption rule then refuses a balance too short (402), and the client,
revoked in the console, is refused (401)."""

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import httpx
import pytest
from playwright.async_api import Locator, Page, expect

from tests.e2e.conftest import new_user
from tests.e2e.console.conftest import (
    RULES_PROGRAMME,
    RulesAccounts,
    bearer,
    log_in,
    screenshot,
    settled,
)

pytestmark = pytest.mark.e2e
APPLIED_WITHIN_S = 30.0
LOCAL_MINUTE = "%Y-%m-%dT%H:%M"


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: str

    def headers(self) -> dict[str, str]:
        return {"X-Client-Id": self.client_id, "X-Client-Secret": self.secret}


async def create_client(page: Page, name: str) -> Client:
    client_id = f"crm-{uuid.uuid4().hex[:6]}"
    await page.goto(f"/programmes/{RULES_PROGRAMME}/clients")
    await page.get_by_label("Client id").fill(client_id)
    await page.get_by_label("Client name").fill(name)
    await page.get_by_role("button", name="Create client").click()
    await expect(page.get_by_text("it is shown this once")).to_be_visible()
    secret = await page.get_by_label("Client secret (production)").input_value()
    assert len(secret) >= 40
    return Client(client_id, secret)


async def new_api_rule(page: Page, name: str, client: Client, points: str, kind: str) -> str:
    """Fills and saves seed 001's rule: the API trigger, one authorised client, a cap max,
    start and end dates; returns its id (from the page it lands on)."""
    await page.goto(f"/programmes/{RULES_PROGRAMME}/rules")
    await page.get_by_role("link", name="New rule for api_reward").click()
    await page.get_by_label("Rule name").fill(name)
    await page.get_by_label("Rule type").select_option(kind)
    await page.get_by_label("API trigger").check()
    await page.get_by_label(client.client_id).check()
    await page.get_by_label("Points", exact=True).fill(points)
    await page.get_by_label("Cap max").fill("1000")
    now = datetime.now(UTC)
    await page.get_by_label("Start date").fill((now - timedelta(days=1)).strftime(LOCAL_MINUTE))
    await page.get_by_label("End date").fill((now + timedelta(days=30)).strftime(LOCAL_MINUTE))
    await page.get_by_role("button", name="Save draft").click()
    await expect(page.get_by_role("status")).to_contain_text("Saved: version 1 of the rule")
    return page.url.split("/rules/")[1].split("?")[0]


async def activate(page: Page, name: str, rule_id: str, shot: str | None = None) -> None:
    """Through the rule's menu and its confirmation."""
    await page.get_by_label(f"Actions for rule {name}").click()
    await page.get_by_role("link", name="Activate…").click()
    await expect(page.get_by_text("Activate with caution")).to_be_visible()
    await expect(
        page.get_by_role("row").filter(has_text=f"rules[{rule_id}].status")
    ).to_contain_text("draft")
    if shot:
        await screenshot(page, shot)
    await page.get_by_role("button", name="Activate rule").click()
    await expect(page.get_by_role("status")).to_contain_text(f"Rule {rule_id} activated")


async def trigger(url: str, client: Client, user_id: str, reference: str) -> httpx.Response:
    """Until the gateways apply the snapshot that activated the rule (409 before)."""
    body = {"user_id": user_id, "reference_id": reference}
    deadline = time.monotonic() + APPLIED_WITHIN_S
    async with httpx.AsyncClient(timeout=30.0) as http:
        while True:
            answer = await http.post(url, json=body, headers=client.headers())
            if answer.status_code != 409 or time.monotonic() > deadline:
                return answer
            await asyncio.sleep(0.3)


def fact(page: Page, label: str) -> Locator:
    return page.locator("dl.shared dt", has_text=label).locator("xpath=following-sibling::dd[1]")


async def test_the_seed_001_flow_from_a_new_rule_to_points_with_their_explanation(
    page: Page,
    rules_accounts: RulesAccounts,
    gateway_client: httpx.AsyncClient,
    console_url: str,
) -> None:
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=console_url)
    await log_in(page, rules_accounts.editor)
    client = await create_client(page, "Partner CRM")
    await screenshot(page, "rules-client-issued")
    await page.get_by_role("link", name="Done").click()
    await expect(page.get_by_role("row").filter(has_text=client.client_id)).to_contain_text(
        "active"
    )
    await screenshot(page, "rules-clients")

    name = f"Welcome bonus {uuid.uuid4().hex[:4]}"
    rule_id = await new_api_rule(page, name, client, "40", "earn")
    await expect(page.get_by_role("heading", name=f"Rule {name}")).to_contain_text("draft")
    await screenshot(page, "rules-rule-draft")
    await activate(page, name, rule_id, shot="rules-activate")
    row = page.get_by_role("row").filter(has_text=rule_id)
    await expect(row).to_contain_text("active")
    await expect(row).to_contain_text(f"when triggered through the API by {client.client_id}")
    await screenshot(page, "rules-list")

    # Share Rule ID, from the rule's menu: the id in the clipboard, then the panel.
    await row.get_by_label(f"Actions for rule {name}").click()
    await row.get_by_role("link", name="Share Rule ID").click()
    await expect(page.get_by_role("heading", name=f"Share Rule ID: {name}")).to_be_visible()
    await expect(page.get_by_role("status")).to_have_text(
        f"Rule ID {rule_id} copied to the clipboard."
    )
    assert await page.evaluate("navigator.clipboard.readText()") == rule_id
    for label, value in [("Rule Name", name), ("Rule ID", rule_id), ("Rule Type", "Earn Points"),
                         ("Environment", "Production")]:  # fmt: skip
        await expect(fact(page, label)).to_contain_text(value)
    endpoint = (await fact(page, "URL Endpoint").inner_text()).removeprefix("POST ").strip()
    assert endpoint == f"{str(gateway_client.base_url).rstrip('/')}/api/rules/{rule_id}/trigger"
    mailto = await page.get_by_role("link", name="Send Email").get_attribute("href")
    assert mailto is not None
    assert mailto.startswith("mailto:?subject=")
    email = unquote(mailto)
    assert f"Rule ID: {rule_id}\n" in email
    assert f"URL Endpoint: {endpoint}\n" in email
    assert client.secret not in email  # never the secret, nor the client (seed 001)
    assert client.client_id not in email
    await screenshot(page, "rules-share")
    await page.get_by_role("link", name=f"{console_url}/guides/api-triggered-rules").click()
    await expect(page.get_by_role("heading", name="API integration guide")).to_be_visible()
    await screenshot(page, "rules-guide")

    # The developer's call, over HTTP with the client's id and secret.
    user_id = new_user()
    earned = await trigger(endpoint, client, user_id, f"welcome-{user_id}")
    assert (earned.status_code, earned.json()["points_awarded"]) == (200, 40), earned.text
    # The points, with their explanation, on the user's page in the console.
    await page.goto(f"/programmes/{RULES_PROGRAMME}/users/{user_id}")
    await expect(page.locator(".summary")).to_contain_text("40 points")
    earned_row = page.get_by_role("row").filter(has_text="+40")
    await earned_row.get_by_role("link", name="Why these points?").click()
    explanation = page.get_by_role("region", name="Why these points?")
    await expect(explanation).to_contain_text(earned.json()["event_id"])
    rules = explanation.get_by_role("table", name="Rules tried, in order")
    await expect(rules.get_by_role("row").filter(has_text=rule_id)).to_contain_text("awarded")
    await screenshot(page, "rules-user-triggered")

    # A redemption rule of 50 points: the user's 40 are short, 402, nothing booked.
    redemption = f"Gift card {uuid.uuid4().hex[:4]}"
    redeem_id = await new_api_rule(page, redemption, client, "50", "redeem")
    await activate(page, redemption, redeem_id)
    await expect(page.get_by_role("row").filter(has_text=redeem_id)).to_contain_text(
        "costs 50 points"
    )
    url = endpoint.replace(f"/rules/{rule_id}/", f"/rules/{redeem_id}/")
    refused = await trigger(url, client, user_id, f"gift-{user_id}")
    assert refused.status_code == 402, refused.text
    assert refused.json()["error"] == "insufficient_points"
    await page.goto(f"/programmes/{RULES_PROGRAMME}/users/{user_id}")
    await expect(page.locator(".summary")).to_contain_text("40 points")
    await expect(page.get_by_role("row").filter(has_text="+40")).to_have_count(1)

    # The client revoked in the console: its secret is refused at once.
    await page.goto(f"/programmes/{RULES_PROGRAMME}/clients")
    await page.get_by_role("button", name=f"Revoke {client.client_id}").click()
    await expect(page.get_by_role("status")).to_contain_text(f"Client {client.client_id} revoked")
    await expect(page.get_by_role("row").filter(has_text=client.client_id)).to_contain_text(
        "revoked"
    )
    after = await trigger(endpoint, client, user_id, f"after-{user_id}")
    assert (after.status_code, after.json()["error"]) == (401, "unauthorized"), after.text


async def test_conditions_offer_the_operators_of_their_type_and_edits_make_versions(
    page: Page, rules_accounts: RulesAccounts, api: httpx.AsyncClient
) -> None:
    """Kwegg's WATCHED_VIDEO (seed 003): the model's problems beside their fields, a rule saved,
    edited into its version 2, and the history of its versions."""
    await log_in(page, rules_accounts.editor)
    await page.goto(f"/programmes/{RULES_PROGRAMME}/rules/new?event_type=watched_video")
    name = f"Long video {uuid.uuid4().hex[:4]}"
    await page.get_by_label("Rule name").fill(name)
    operator = page.get_by_label("Condition 1: operator")
    await page.get_by_label("Condition 1: parameter").select_option("category")
    await settled(page)
    await expect(operator.locator("option", has_text="contains")).to_have_count(1)
    await expect(operator.locator("option", has_text="is less than")).to_have_count(0)
    await page.get_by_label("Condition 1: parameter").select_option("duration")
    await settled(page)
    await expect(operator.locator("option", has_text="is greater than")).to_have_count(1)
    await expect(operator.locator("option", has_text="contains")).to_have_count(0)
    await operator.select_option("greater_than")
    await page.get_by_label("Condition 1: value").fill("twenty")
    await page.get_by_role("button", name="Add a condition").click()
    await settled(page)
    await page.get_by_label("Condition 2: parameter").select_option("premium")
    await settled(page)
    await expect(page.get_by_label("Condition 2: operator").locator("option")).to_have_count(5)
    await page.get_by_label("Condition 2: operator").select_option("equal_to")
    await page.get_by_label("Condition 2: value").select_option("true")
    await page.get_by_label("Priority").fill("1")  # video-10's
    await page.get_by_label("Points", exact=True).fill("500")
    await page.get_by_label("Frequency").select_option("rolling")
    await page.get_by_label("Every N").fill("0")
    await page.get_by_role("button", name="Save draft").click()

    await expect(page.locator("#f-conditions-0-value-problem")).to_have_text(
        "'twenty' is not a integer value"
    )
    await expect(page.locator("#f-priority-problem")).to_contain_text(
        "rules of event type 'watched_video' share priority 1"
    )
    await expect(page.locator("#f-frequency-every-problem")).to_contain_text(
        "greater than or equal to 1"
    )
    await expect(page.get_by_label("Condition 1: value")).to_have_value("twenty")
    await screenshot(page, "rules-errors")

    await page.get_by_label("Condition 1: value").fill("20")
    await page.get_by_label("Priority").fill("2")
    await page.get_by_label("Every N").fill("30")
    await page.get_by_label("Unit of N").select_option("minutes")
    await page.get_by_role("button", name="Save draft").click()
    await expect(page.get_by_role("status")).to_contain_text("Saved: version 1 of the rule")
    rule_id = page.url.split("/rules/")[1].split("?")[0]
    await page.get_by_label("Points", exact=True).fill("600")
    await page.get_by_role("button", name="Save as version 2").click()
    await expect(page.get_by_role("status")).to_contain_text("Saved: version 2 of the rule")
    await page.get_by_role("button", name="Save as version 3").click()
    await expect(page.get_by_role("status")).to_contain_text("Nothing changed")

    stored = await api.get(
        f"/programmes/{RULES_PROGRAMME}/rules/{rule_id}", headers=bearer(rules_accounts.viewer)
    )
    assert {k: stored.json()[k] for k in ("version", "status", "points", "frequency")} == {
        "version": 2, "status": "draft", "points": "600",
        "frequency": {"every": 30, "unit": "minutes"},
    }  # fmt: skip
    assert stored.json()["conditions"] == [
        {"parameter": "duration", "operator": "greater_than", "value": 20},
        {"parameter": "premium", "operator": "equal_to", "value": True},
    ]

    await page.get_by_label(f"Actions for rule {name}").click()
    await page.get_by_role("link", name="History").click()
    rows = page.get_by_role("row")
    await expect(rows).to_have_count(3)  # the heading's and two versions
    await expect(rows.nth(1)).to_contain_text("points: 500 → 600")
    await screenshot(page, "rules-history")

    await page.get_by_label(f"Actions for rule {name}").click()
    await page.get_by_role("link", name="End…").click()
    await expect(page.get_by_role("heading", name=f"End rule {name}?")).to_be_visible()
    await page.get_by_role("button", name="End rule").click()
    await expect(page.get_by_role("status")).to_contain_text(f"Rule {rule_id} ended")
    await page.get_by_role("link", name=name).click()
    await expect(page.get_by_text("This rule is ended")).to_be_visible()
    await expect(page.get_by_role("button", name="Save as version 3")).to_have_count(0)


async def test_event_types_are_declared_with_typed_parameters_and_removed_only_unused(
    page: Page, rules_accounts: RulesAccounts
) -> None:
    name = f"check_in_{uuid.uuid4().hex[:4]}"
    await log_in(page, rules_accounts.editor)
    await page.goto(f"/programmes/{RULES_PROGRAMME}/event-types")
    await page.get_by_label("Event type name").fill(name)
    await page.get_by_label("Parameter 1 name").fill("day")
    await page.get_by_label("Parameter 1 type").select_option("integer")
    await page.get_by_label("Parameter 1 mandatory").check()
    await page.get_by_label("Parameter 2 name").fill("channel")
    await page.get_by_role("button", name="Add event type").click()
    await expect(page.locator("#f-parameters-1-type-problem")).to_have_text("Field required")
    await page.get_by_label("Parameter 2 type").select_option("string")
    await page.get_by_role("button", name="Add event type").click()
    await expect(page.get_by_role("status")).to_contain_text("is stored and published")
    row = page.get_by_role("row").filter(has_text=name)
    await expect(row).to_contain_text("day: integer, mandatory")
    await expect(row).to_contain_text("channel: string")
    await screenshot(page, "rules-event-types")

    await row.get_by_role("link", name=f"Edit {name}").click()
    await expect(page.get_by_role("heading", name=f"Event type {name}")).to_be_visible()
    await page.get_by_label("Parameter 3 name").fill("streak")
    await page.get_by_label("Parameter 3 type").select_option("boolean")
    await screenshot(page, "rules-event-type")
    await page.get_by_role("button", name="Save event type").click()
    await expect(page.get_by_role("row").filter(has_text=name)).to_contain_text("streak: boolean")

    # In use by rules: the confirmation names them and offers no removal.
    await page.goto(f"/programmes/{RULES_PROGRAMME}/event-types/watched_video/remove")
    await expect(page.get_by_text("It is in use, so it cannot be removed")).to_be_visible()
    await expect(page.get_by_role("link", name="Ten minutes")).to_be_visible()
    await expect(page.get_by_role("button", name="Remove watched_video")).to_have_count(0)
    await screenshot(page, "rules-event-type-in-use")

    await page.goto(f"/programmes/{RULES_PROGRAMME}/event-types/{name}")
    await page.get_by_role("link", name="Remove event type…").click()
    await page.get_by_role("button", name=f"Remove {name}").click()
    await expect(page.get_by_role("status")).to_contain_text(f"Event type {name} removed")
    await expect(page.get_by_role("row").filter(has_text=name)).to_have_count(0)

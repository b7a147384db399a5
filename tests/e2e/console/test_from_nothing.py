"""Issue 15's "done when": a programme like the demo one (deploy/programmes/demo.yaml) built from
nothing in the console alone, by a fresh owner in a browser (no admin API, no file), then seed
000's requests sent as the mgPass partner guide writes them, with the key the console issued, to
the real gateway: the answers, points and balances the guide promises.

The browser types what the demo file holds (its tiers, partner, event types and rules), and the
programme the console exports at the end is the demo one, but for its id and version."""

import asyncio
import time
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx
import pytest
import yaml
from playwright.async_api import Page, expect

from gateway.admin.programmes import load_file
from schemas.programme import ProgrammeConfig, Rule
from tests.e2e.console.conftest import REPO, create_account, log_in, screenshot

pytestmark = pytest.mark.e2e
DEMO = load_file(REPO / "deploy" / "programmes" / "demo.yaml")
APPLIED_WITHIN_S = 30.0
EVENTS = "/api/partner/events"
USER = "usr_abc123"  # the guide's user

# Seed 000's two curl examples, the bodies byte for byte as the guide writes them.
BASIC_EVENT = """{
    "user_id": "usr_abc123",
    "event_type": "article_read"
  }"""
EVENT_WITH_METADATA = """{
    "user_id": "usr_abc123",
    "event_type": "purchase",
    "metadata": {
      "reference_id": "order_789",
      "amount": 150.00,
      "currency": "GHS",
      "item_count": 3
    }
  }"""


def points_text(value: Decimal | int) -> str:
    return format(Decimal(value).normalize(), "f")


class Partner:
    """The partner's side of the guide: its key on every request."""

    def __init__(self, client: httpx.AsyncClient, key: str) -> None:
        self.client = client
        self.headers = {"Content-Type": "application/json", "X-API-Key": key}

    async def post(self, body: str | Mapping[str, Any]) -> httpx.Response:
        """`curl -X POST .../api/partner/events -H ... -d BODY`; a string is sent as it is."""
        if isinstance(body, str):
            return await self.client.post(EVENTS, content=body.encode(), headers=self.headers)
        return await self.client.post(EVENTS, json=body, headers=self.headers)

    async def get(self, path: str) -> httpx.Response:
        return await self.client.get(path, headers=self.headers)


# ---- The set-up, in the browser ----------------------------------------------------------------


async def create_programme(page: Page, programme_id: str) -> None:
    await page.get_by_role("link", name="New programme").click()
    await page.get_by_label("Programme id").fill(programme_id)
    await page.get_by_label("Name", exact=True).fill(DEMO.name or "")
    await page.get_by_label("Environment").select_option(DEMO.environment)
    await page.get_by_label("Time zone").fill(DEMO.time_zone)
    await page.get_by_label("Rounding").select_option(DEMO.rounding)
    await screenshot(page, "from-nothing-01-programme-new")
    await page.get_by_role("button", name="Create programme").click()
    await expect(page.get_by_role("heading", name=DEMO.name or "")).to_be_visible()


async def set_tiers(page: Page) -> None:
    """The settings page offers the new programme's one tier and two spare rows: the demo's
    three tiers fit."""
    for i, tier in enumerate(DEMO.tiers, start=1):
        await page.get_by_label(f"Tier {i} name").fill(tier.name)
        await page.get_by_label(f"Tier {i} multiplier").fill(points_text(tier.multiplier))
    await page.get_by_label("Default tier").fill(DEMO.default_tier)
    await page.get_by_label("Budget mode").select_option(DEMO.budget.mode)
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.get_by_role("status")).to_contain_text("version 2 is stored")
    for i, tier in enumerate(DEMO.tiers, start=1):
        await expect(page.get_by_label(f"Tier {i} name")).to_have_value(tier.name)
    await screenshot(page, "from-nothing-02-settings-tiers")


async def add_event_types(page: Page) -> None:
    await page.get_by_role("link", name="Event types").click()
    await expect(page.get_by_role("heading", name="Add an event type")).to_be_visible()
    for event_type in DEMO.event_types:
        await page.get_by_label("Event type name").fill(event_type.name)
        for i, parameter in enumerate(event_type.parameters, start=1):
            await page.get_by_label(f"Parameter {i} name").fill(parameter.name)
            await page.get_by_label(f"Parameter {i} type").select_option(parameter.type)
            if parameter.mandatory:
                await page.get_by_label(f"Parameter {i} mandatory").check()
        await page.get_by_role("button", name="Add event type").click()
        await expect(page.get_by_role("status")).to_contain_text("is stored and published")
        await expect(page.get_by_role("row").filter(has_text=event_type.name)).to_have_count(1)
    await screenshot(page, "from-nothing-03-event-types")


async def add_partner(page: Page) -> None:
    (partner,) = DEMO.partners
    await page.get_by_role("link", name="Partners").click()
    await expect(page.get_by_role("heading", name="Add a partner")).to_be_visible()
    await page.get_by_label("Partner id").fill(partner.partner_id)
    await page.get_by_label("Multiplier").fill(points_text(partner.multiplier))
    await page.get_by_label("Rate limit (events a minute)").fill(str(partner.rate_limit_per_minute))
    for event_type in partner.allowed_event_types:
        await page.get_by_label(event_type, exact=True).check()
    await page.get_by_role("button", name="Add partner").click()
    await expect(page.get_by_role("status")).to_contain_text("is stored and published")
    await expect(page.get_by_role("row").filter(has_text=partner.partner_id)).to_contain_text(
        "daily_login"
    )
    await screenshot(page, "from-nothing-04-partner")


async def issue_key(page: Page) -> str:
    (partner,) = DEMO.partners
    await page.get_by_role("link", name="API keys").click()
    await expect(page.get_by_role("heading", name="Partner API keys")).to_be_visible()
    await page.get_by_label("Partner", exact=True).select_option(partner.partner_id)
    await page.get_by_role("button", name="Issue key").click()
    await expect(page.get_by_text("it is shown this once")).to_be_visible()
    key = await page.get_by_label("API key (production)").input_value()
    assert key.startswith("lk_live_"), key
    await screenshot(page, "from-nothing-05-key-issued")
    await page.get_by_role("link", name="Done").click()
    return key


async def add_rule(page: Page, programme_id: str, rule: Rule) -> None:
    """The demo's rules use fixed or per-unit points, a daily cap, a calendar frequency and the
    default flag; the comparison with the demo file at the end catches any field not typed."""
    await page.goto(f"/programmes/{programme_id}/rules")
    await page.get_by_role("link", name=f"New rule for {rule.event_type}", exact=True).click()
    await page.get_by_label("Rule name").fill(rule.name or "")
    await page.get_by_label("Rule id").fill(rule.rule_id)
    await page.get_by_label("Rule type").select_option(rule.kind)
    await page.get_by_label("Priority").fill(str(rule.priority))
    if rule.default:
        await page.get_by_label("Pays when no other rule matches").check()
    await page.get_by_label("Points type").select_option(rule.points_type)
    await page.get_by_label("Points", exact=True).fill(points_text(rule.points))
    if rule.unit_field:
        await page.get_by_label("Unit field").select_option(rule.unit_field)
    if rule.daily_cap:
        await page.get_by_label("Daily cap").fill(str(rule.daily_cap))
    assert isinstance(rule.frequency, str), "the demo's frequencies are calendar ones"
    await page.get_by_label("Frequency").select_option(rule.frequency)
    await page.get_by_role("button", name="Save draft").click()
    await expect(page.get_by_role("status")).to_contain_text("Saved: version 1 of the rule")
    await expect(page.get_by_role("heading", name=f"Rule {rule.name}")).to_contain_text("draft")


async def activate(page: Page, rule: Rule) -> None:
    """From the rule's menu, through the confirmation that shows what changes."""
    await page.get_by_label(f"Actions for rule {rule.name}").click()
    await page.get_by_role("link", name="Activate…").click()
    await expect(page.get_by_text("Activate with caution")).to_be_visible()
    await expect(
        page.get_by_role("row").filter(has_text=f"rules[{rule.rule_id}].status")
    ).to_contain_text("draft")
    await page.get_by_role("button", name="Activate rule").click()
    await expect(page.get_by_role("status")).to_contain_text(f"Rule {rule.rule_id} activated")


async def set_tier(page: Page, user_id: str, tier: str) -> None:
    await page.get_by_role("link", name="Users").click()
    await page.get_by_label("User id").fill(user_id)
    await page.get_by_role("button", name="Find user").click()
    await expect(page.get_by_role("heading", name=f"User {user_id}")).to_be_visible()
    await page.get_by_label("New tier").select_option(tier)
    await page.get_by_role("button", name="Set tier").click()
    await expect(page.get_by_role("status")).to_contain_text(f"Tier set to {tier}")
    await expect(page.locator(".summary")).to_contain_text(tier)


async def exported(page: Page, programme_id: str) -> ProgrammeConfig:
    await page.get_by_role("link", name="As code").click()
    async with page.expect_download() as download:
        await page.get_by_role("link", name=f"Export {programme_id}.yaml").click()
    text = (await (await download.value).path()).read_text()
    return ProgrammeConfig.model_validate(yaml.safe_load(text))


# ---- Waiting for the published snapshot --------------------------------------------------------


async def first_answer(
    partner: Partner, event_type: str, points: int, reason_code: str | None = None
) -> httpx.Response:
    """Events of fresh users until the gateway and the processors have applied the snapshot:
    until the answer is 200 with `points` and `reason_code` (processors still on an older
    snapshot answer 0 for another reason). Only the probes' own users are touched."""
    deadline = time.monotonic() + APPLIED_WITHIN_S
    while True:
        body = {"user_id": f"usr_probe_{uuid.uuid4().hex[:8]}", "event_type": event_type}
        answer = await partner.post(body)
        if answer.status_code == 200 and (
            answer.json()["points_awarded"],
            answer.json()["reason_code"],
        ) == (points, reason_code):
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"not applied within {APPLIED_WITHIN_S} s: {answer.text}")
        await asyncio.sleep(1.0)


# ---- The test ----------------------------------------------------------------------------------


async def test_the_demo_programme_built_in_the_console_serves_the_seed_000_examples(
    page: Page, admin_env: dict[str, str], gateway_client: httpx.AsyncClient
) -> None:
    programme_id = f"mgpass-{uuid.uuid4().hex[:8]}"
    owner = await create_account(admin_env, "owner")

    await log_in(page, owner)
    await create_programme(page, programme_id)
    await set_tiers(page)
    await add_event_types(page)
    await add_partner(page)
    partner = Partner(gateway_client, await issue_key(page))

    # "Events with no matching rule are still accepted and logged. Points awarded will be 0.
    # This allows you to start publishing events before rules are configured."
    early = await first_answer(partner, "article_read", 0, "no_rule")
    assert early.json()["accepted"] is True

    for rule in DEMO.rules:
        await add_rule(page, programme_id, rule)
        await activate(page, rule)
    await screenshot(page, "from-nothing-06-rules")
    last = DEMO.rules[-1]
    await first_answer(partner, last.event_type, int(last.points))

    # Seed 000's "Basic Event" and "Event with Metadata", then the reads.
    basic = await partner.post(BASIC_EVENT)
    assert basic.status_code == 200, basic.text
    assert basic.json()["accepted"] is True
    assert basic.json()["points_awarded"] == 5  # article_read: 5 per read
    assert basic.json()["event_id"].startswith("evt_")
    purchase = await partner.post(EVENT_WITH_METADATA)
    assert purchase.status_code == 200, purchase.text
    assert {k: purchase.json()[k] for k in ("accepted", "points_awarded")} == {
        "accepted": True, "points_awarded": 150,  # 1 point per GHS, Bronze 1.0, partner 1.0
    }  # fmt: skip
    event_id = purchase.json()["event_id"]

    balance = await partner.get(f"/api/partner/users/{USER}/balance")
    assert (balance.json()["user_id"], balance.json()["balance"]) == (USER, 155)
    transactions = await partner.get(f"/api/partner/users/{USER}/transactions")
    assert transactions.json()["totalCount"] == 2
    assert [(t["value"], t["balance"]) for t in transactions.json()["transactions"]] == [
        (5, 5), (150, 155),
    ]  # fmt: skip
    latest = await partner.get(f"/api/partner/users/{USER}/transactions/last")
    assert (latest.json()["value"], latest.json()["balance"], latest.json()["event_id"]) == (
        150, 155, event_id,
    )  # fmt: skip
    outcome = await partner.get(f"{EVENTS}/{event_id}")
    assert outcome.json()["points_awarded"] == 150
    assert "purchase" in str(outcome.json()["explanation"])

    # "Publishing the same reference_id twice will not double-award points."
    again = await partner.post(EVENT_WITH_METADATA)
    assert (again.status_code, again.json()["event_id"]) == (200, event_id), again.text
    assert again.json()["points_awarded"] == 150
    balance = await partner.get(f"/api/partner/users/{USER}/balance")
    assert balance.json()["balance"] == 155

    # The guide's code example: an article read with its reference.
    body = {"user_id": USER, "event_type": "article_read", "metadata": {"reference_id": "a-1"}}
    read = await partner.post(body)
    assert read.json()["points_awarded"] == 5
    assert (await partner.get(f"/api/partner/users/{USER}/balance")).json()["balance"] == 160

    # "Example: Per-Unit Rule": a Silver user (set in the console) buying for 100 GHS earns 150.
    silver = f"usr_silver_{uuid.uuid4().hex[:6]}"
    await set_tier(page, silver, "Silver")
    await screenshot(page, "from-nothing-07-user-silver")
    per_unit = await partner.post(
        {"user_id": silver, "event_type": "purchase", "metadata": {"amount": 100}}
    )
    assert per_unit.json()["points_awarded"] == 150, per_unit.text

    # One-time and capped rules: signup pays 50 once; article reads at most 50 a day.
    newcomer = f"usr_new_{uuid.uuid4().hex[:6]}"
    once = [await partner.post({"user_id": newcomer, "event_type": "signup"}) for _ in range(2)]
    assert [a.json()["points_awarded"] for a in once] == [50, 0]
    assert once[1].json()["reason_code"] == "frequency"
    reader = f"usr_reader_{uuid.uuid4().hex[:6]}"
    reads = [await partner.post({"user_id": reader, "event_type": "article_read"})
             for _ in range(11)]  # fmt: skip
    assert [a.json()["points_awarded"] for a in reads] == [5] * 10 + [0]
    assert reads[-1].json()["reason_code"] == "daily_cap"

    # The guide's errors.
    missing = await partner.post({"event_type": "article_read"})
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
    unknown = await gateway_client.post(
        EVENTS, content=BASIC_EVENT.encode(),
        headers={"Content-Type": "application/json", "X-API-Key": "lk_live_nope"},
    )  # fmt: skip
    assert (unknown.status_code, unknown.json()["error"]) == (401, "unauthorized")
    unlisted = await partner.post({"user_id": USER, "event_type": "comment"})
    assert (unlisted.status_code, unlisted.json()["error"]) == (403, "forbidden")

    # The programme the console built is the demo one, but for its id and version.
    built = await exported(page, programme_id)
    await screenshot(page, "from-nothing-08-as-code")
    assert built.model_copy(update={"programme_id": DEMO.programme_id, "version": 1}) == DEMO

    # "429 rate_limit_exceeded: Too many requests (30/min)": the partner's rate, the demo's.
    answers: list[httpx.Response] = []
    while len(answers) <= DEMO.partners[0].rate_limit_per_minute:
        answers.append(await partner.post({"user_id": reader, "event_type": "share"}))
        if answers[-1].status_code == 429:
            break
    assert answers[-1].status_code == 429, [a.status_code for a in answers]
    assert answers[-1].json()["error"] == "rate_limit_exceeded"
    assert int(answers[-1].headers["Retry-After"]) >= 1

"""Users, dead letters, webhooks, Kwegg offers and the MyRewards set-up in the browser, on the
whole e2e system: a user found by id after earning through the partner API, their transaction
explained ("why these points?"), a manual credit booked and a debit the balance cannot cover
refused with the ledger's reason, a tier set; a bad record produced to the run's events topic
appearing as a dead letter, replayed unchanged (it comes back with the same reason) and
discarded; a webhook created with its secret shown once, its refused delivery retried now, then
deactivated; a Kwegg offer created and ended; a MyRewards promotion and product edited. A viewer
sees no change button and the admin API refuses their changes (403)."""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import httpx
import orjson
import pytest
from playwright.async_api import Page, expect

from gateway.webhooks import signing
from runtime.kafka import produce
from tests.e2e.conftest import RunTopics, admin_cli, new_user
from tests.e2e.console.conftest import Account, bearer, create_account, log_in, screenshot
from tests.integration.webhooks.receiver import receiver

pytestmark = pytest.mark.e2e
PROGRAMME = "console-people"
APPEARS_WITHIN_S = 60.0


@pytest.fixture(scope="module")
async def editor(admin_env: dict[str, str]) -> Account:
    return await create_account(admin_env, "editor", PROGRAMME)


@pytest.fixture(scope="module")
async def viewer(admin_env: dict[str, str]) -> Account:
    return await create_account(admin_env, "viewer", PROGRAMME)


@pytest.fixture(scope="module")
async def partner_key(admin_env: dict[str, str]) -> str:
    made = await admin_cli(admin_env, "create-key", "--programme", PROGRAMME, "--partner", "shop")
    assert made.status == 0, made
    key = made.stdout.strip()
    assert key.startswith("lk_live_"), made
    return key


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + APPEARS_WITHIN_S
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {APPEARS_WITHIN_S} s")
        await asyncio.sleep(0.5)


async def test_a_user_is_found_explained_adjusted_and_given_a_tier(
    page: Page, editor: Account, partner_key: str, gateway_client: httpx.AsyncClient
) -> None:
    user = new_user()
    earned = await gateway_client.post(
        "/api/partner/events",
        json={"user_id": user, "event_type": "purchase", "metadata": {"amount": 42}},
        headers={"X-API-Key": partner_key},
    )
    assert earned.status_code == 200, earned.text
    assert earned.json()["points_awarded"] == 42

    await log_in(page, editor)
    await page.goto(f"/programmes/{PROGRAMME}")
    await page.get_by_role("link", name="Users").click()
    await screenshot(page, "people-users-find")
    await page.get_by_label("User id").fill(user)
    await page.get_by_role("button", name="Find user").click()
    await expect(page.get_by_role("heading", name=f"User {user}")).to_be_visible()
    balance = page.locator(".summary")
    await expect(balance).to_contain_text("42 points")
    await expect(balance).to_contain_text("Base")
    row = page.get_by_role("row").filter(has_text="purchase earned with rule purchase")
    await expect(row).to_contain_text("+42")

    await row.get_by_role("link", name="Why these points?").click()
    explanation = page.get_by_role("region", name="Why these points?")
    await expect(explanation).to_contain_text("in tier Base with version 1 of the programme")
    rules = explanation.get_by_role("table", name="Rules tried, in order")
    await expect(rules.get_by_role("row").filter(has_text="purchase")).to_contain_text("awarded")
    await screenshot(page, "people-user-explanation")

    # A manual credit, booked through the ledger.
    await page.get_by_label("Type", exact=True).select_option("Credit")
    await page.get_by_label("Points", exact=True).fill("50")
    await page.get_by_label("Reason", exact=True).fill("Goodwill after a complaint")
    await page.get_by_role("button", name="Book adjustment").click()
    await expect(page.get_by_role("status")).to_contain_text(
        "Adjustment booked: +50 points; the balance is 92"
    )
    await expect(
        page.get_by_role("row").filter(has_text="Goodwill after a complaint")
    ).to_contain_text("+50")

    # A debit the balance cannot cover: refused, with the ledger's reason beside the form.
    await page.get_by_label("Type", exact=True).select_option("Debit")
    await page.get_by_label("Points", exact=True).fill("10000")
    await page.get_by_label("Reason", exact=True).fill("Too much")
    await page.get_by_role("button", name="Book adjustment").click()
    refusal = page.get_by_role("alert")
    await expect(refusal).to_contain_text("The ledger refused it (insufficient_points)")
    await expect(page.locator(".summary")).to_contain_text("92 points")
    await expect(page.get_by_label("Points", exact=True)).to_have_value("10000")
    await screenshot(page, "people-user-debit-refused")

    await page.get_by_label("New tier").select_option("Silver")
    await page.get_by_role("button", name="Set tier").click()
    await expect(page.get_by_role("status")).to_contain_text("Tier set to Silver")
    await expect(page.locator(".summary")).to_contain_text("Silver")
    await screenshot(page, "people-user")

    # The next purchase earns with Silver's multiplier.
    doubled = await gateway_client.post(
        "/api/partner/events",
        json={"user_id": user, "event_type": "purchase", "metadata": {"amount": 10}},
        headers={"X-API-Key": partner_key},
    )
    assert doubled.json()["points_awarded"] == 20
    await page.goto("/audit?programme=" + PROGRAMME + "&object_type=user&object_id=" + user)
    audit = page.locator("#audit-results")
    await expect(audit).to_contain_text("user.tier_set")
    await expect(audit).to_contain_text("user.points_adjusted")


async def test_a_dead_letter_appears_is_replayed_unchanged_and_discarded(
    page: Page, editor: Account, kafka_bootstrap: str, session_topics: RunTopics
) -> None:
    user = new_user()
    marker = uuid.uuid4().hex
    # Not an event (no event_id): the processors dead-letter it as invalid_event.
    value = orjson.dumps({"programme_id": PROGRAMME, "user_id": user, "event_type": "purchase",
                          "metadata": {"marker": marker}})  # fmt: skip
    await produce(kafka_bootstrap, session_topics.events, [(f"{PROGRAMME}:{user}".encode(), value)])

    await log_in(page, editor)

    async def listed(count: int) -> bool:
        await page.goto(f"/dead-letters?status=&programme={PROGRAMME}")
        return await page.get_by_role("row").filter(has_text=user).count() >= count

    await until(lambda: listed(1), "the dead letter")
    first = page.get_by_role("row").filter(has_text=user)
    await expect(first).to_contain_text("invalid_event")
    await expect(first).to_contain_text(session_topics.events)
    await screenshot(page, "people-dead-letters")
    await first.get_by_role("link").click()
    await expect(page.get_by_label("Original value")).to_contain_text(marker)
    await expect(page.get_by_label("Original key")).to_contain_text(f"{PROGRAMME}:{user}")
    await screenshot(page, "people-dead-letter")
    first_url = page.url
    await page.get_by_role("button", name="Replay").click()
    await expect(page.get_by_role("status")).to_contain_text("Replayed")
    await expect(page.get_by_role("button", name="Replay")).to_have_count(0)

    # Nothing was fixed: it is dead-lettered again, for the same reason, naming the first.
    await until(lambda: listed(2), "the replay's dead letter")
    again = page.get_by_role("row").filter(has_text=user).filter(has_text="replay of letter")
    await expect(again).to_contain_text("invalid_event")
    await again.get_by_role("link").click()
    await expect(page.get_by_text("its replay failed again")).to_be_visible()
    await page.get_by_role("button", name="Discard").click()
    await expect(page.get_by_role("status")).to_contain_text("Discarded")
    await page.goto(first_url)
    await expect(page.get_by_text("the replay was dead-lettered again")).to_be_visible()


async def test_a_kwegg_offer_is_created_and_ended(page: Page, editor: Account) -> None:
    offer_id = f"coffee-{uuid.uuid4().hex[:6]}"
    await log_in(page, editor)
    await page.goto(f"/programmes/{PROGRAMME}/offers")
    await page.get_by_label("Name").fill("Free coffee")
    await page.get_by_label("Points", exact=True).fill("150")
    await page.get_by_label("Offer id").fill(offer_id)
    await page.get_by_label("Valid until").fill("2030-01-01T09:00")
    await page.get_by_role("button", name="Create offer").click()
    await expect(page.get_by_role("status")).to_contain_text(f"Offer {offer_id} created")
    row = page.get_by_role("row").filter(has_text=offer_id)
    await expect(row).to_contain_text("ACTIVE")
    await screenshot(page, "people-offers")
    # An id taken already: refused beside its field.
    await page.get_by_label("Name").fill("Again")
    await page.get_by_label("Points", exact=True).fill("1")
    await page.get_by_label("Offer id").fill(offer_id)
    await page.get_by_role("button", name="Create offer").click()
    await expect(page.locator("#f-offer_id-problem")).to_contain_text("has an offer")
    await row.get_by_role("button", name="End").click()
    await expect(page.get_by_role("status")).to_contain_text(f"Offer {offer_id} ended")
    await expect(page.get_by_role("row").filter(has_text=offer_id)).to_contain_text("INACTIVE")


async def test_a_myrewards_promotion_and_product_are_edited(
    page: Page, editor: Account, api: httpx.AsyncClient
) -> None:
    made = await api.put(
        f"/programmes/{PROGRAMME}/myrewards/promotions/1",
        json={"name": "Autumn double points"}, headers=bearer(editor),
    )  # fmt: skip
    assert made.status_code == 200, made.text
    product = {"product_or_activity": "Booking type 1", "name": "Standard booking",
               "points_per_unit": 10, "promotion_id": 1}  # fmt: skip
    made = await api.put(
        f"/programmes/{PROGRAMME}/myrewards/products/1", json=product, headers=bearer(editor)
    )
    assert made.status_code == 200, made.text

    await log_in(page, editor)
    await page.goto(f"/programmes/{PROGRAMME}/myrewards")
    await page.get_by_role("link", name="Edit product 1").click()
    await page.get_by_label("Points per unit").fill("25")
    await page.get_by_role("button", name="Save product").click()
    await expect(page.get_by_role("status")).to_contain_text("Product 1 saved")
    products = page.get_by_role("table", name="Products")
    await expect(products.get_by_role("row").filter(has_text="Booking type 1")).to_contain_text(
        "25"
    )
    await screenshot(page, "people-myrewards")

    # A product whose SKU the promotion has already: refused as a file would be.
    await page.get_by_role("link", name="Add a product").click()
    await page.get_by_label("SKU (product or activity)").fill("Booking type 1")
    await page.get_by_label("Name").fill("Twin")
    await page.get_by_label("Points per unit").fill("1")
    await page.get_by_label("Promotion id").fill("1")
    await page.get_by_role("button", name="Save product").click()
    await expect(page.get_by_role("alert")).to_contain_text("the same SKU")
    await screenshot(page, "people-myrewards-product-refused")

    await page.goto(f"/programmes/{PROGRAMME}/myrewards")
    await page.get_by_role("link", name="Edit promotion 1").click()
    await page.get_by_label("Active").uncheck()
    await page.get_by_role("button", name="Save promotion").click()
    await expect(page.get_by_role("status")).to_contain_text("Promotion 1 saved")
    stored = await api.get(f"/programmes/{PROGRAMME}/myrewards", headers=bearer(editor))
    assert stored.json()["promotions"][0]["active"] is False
    assert stored.json()["products"][0]["points_per_unit"] == 25


async def test_a_myrewards_group_question_and_data_field_are_added(
    page: Page, editor: Account, api: httpx.AsyncClient
) -> None:
    await log_in(page, editor)
    rows = [
        ("user group", {"Id": "5", "Name": "Field sales"}, {}),
        ("registration question", {"Id": "5", "Label": "Company", "Field name": "company"},
         {"Field type": "text"}),
        ("data field", {"Id": "5", "Name": "invoice_number", "Selector": "invoice"},
         {"Field type": "free_text"}),
    ]  # fmt: skip
    for one, texts, choices in rows:
        await page.goto(f"/programmes/{PROGRAMME}/myrewards")
        await page.get_by_role("link", name=f"Add a {one}").click()
        for label, text in texts.items():
            await page.get_by_label(label, exact=True).fill(text)
        for label, choice in choices.items():
            await page.get_by_label(label, exact=True).select_option(choice)
        await page.get_by_role("button", name=f"Save {one}").click()
        await expect(page.get_by_role("status")).to_contain_text(f"{one.capitalize()} 5 added")
    stored = (await api.get(f"/programmes/{PROGRAMME}/myrewards", headers=bearer(editor))).json()
    assert {"id": 5, "name": "Field sales"}.items() <= stored["user_groups"][-1].items()
    question = stored["registration_questions"][-1]
    assert (question["id"], question["label"], question["field_type"]) == (5, "Company", "text")
    field = stored["data_fields"][-1]
    assert (field["id"], field["name"], field["field_type"]) == (5, "invoice_number", "free_text")


async def test_a_viewer_sees_these_pages_without_change_buttons_and_is_refused(
    page: Page, viewer: Account, api: httpx.AsyncClient, kafka_bootstrap: str,
    session_topics: RunTopics,
) -> None:  # fmt: skip
    user = new_user()
    bad = orjson.dumps({"programme_id": PROGRAMME, "user_id": user})
    await produce(kafka_bootstrap, session_topics.events, [(f"{PROGRAMME}:{user}".encode(), bad)])
    await log_in(page, viewer)
    for path in (f"/programmes/{PROGRAMME}/users/{user}", f"/programmes/{PROGRAMME}/offers",
                 f"/programmes/{PROGRAMME}/myrewards"):  # fmt: skip
        await page.goto(path)
        await expect(page.get_by_role("button")).to_have_count(1)  # Log out, no other
    await page.goto(f"/programmes/{PROGRAMME}/webhooks")
    for name in ("Create webhook", "Retry now", "Deactivate"):
        await expect(page.get_by_role("button", name=name)).to_have_count(0)
    await page.goto(f"/programmes/{PROGRAMME}/users/{user}")
    await screenshot(page, "people-user-viewer")

    async def listed() -> bool:
        await page.goto(f"/dead-letters?programme={PROGRAMME}")
        return await page.get_by_role("row").filter(has_text=user).count() == 1

    await until(listed, "the dead letter")
    await page.get_by_role("row").filter(has_text=user).get_by_role("link").click()
    await expect(page.get_by_label("Original key")).to_contain_text(user)
    await expect(page.get_by_role("button")).to_have_count(1)  # Log out: no replay, no discard
    letter_id = page.url.rsplit("/", 1)[-1]

    changes = [
        api.post(f"/programmes/{PROGRAMME}/users/{user}/adjustments",
                 json={"transaction_type": "Credit", "points": 1, "reason": "x"},
                 headers=bearer(viewer)),
        api.put(f"/programmes/{PROGRAMME}/users/{user}/tier", json={"tier": "Silver"},
                headers=bearer(viewer)),
        api.post(f"/programmes/{PROGRAMME}/offers", json={"name": "x", "points": 1},
                 headers=bearer(viewer)),
        api.put(f"/programmes/{PROGRAMME}/myrewards/promotions/9", json={"name": "x"},
                headers=bearer(viewer)),
        api.post(f"/programmes/{PROGRAMME}/webhooks",
                 json={"subscription_id": "viewer", "url": "https://partner.example/hook"},
                 headers=bearer(viewer)),
        api.post(f"/programmes/{PROGRAMME}/webhook-deliveries/1/retry", headers=bearer(viewer)),
        api.post(f"/dead-letters/{letter_id}/replay", headers=bearer(viewer)),
        api.post(f"/dead-letters/{letter_id}/discard", headers=bearer(viewer)),
    ]  # fmt: skip
    for answer in await asyncio.gather(*changes):
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"] == "forbidden"
    seen = await api.get(f"/dead-letters/{letter_id}", headers=bearer(viewer))
    assert seen.json()["status"] == "new"


async def test_a_webhook_shows_its_secret_once_and_a_failed_delivery_is_retried(
    page: Page, editor: Account, partner_key: str, gateway_client: httpx.AsyncClient
) -> None:
    hook = f"hook-{uuid.uuid4().hex[:6]}"
    with receiver() as endpoint:
        await log_in(page, editor)
        await page.goto(f"/programmes/{PROGRAMME}/webhooks")
        await page.get_by_label("Webhook id").fill(hook)
        await page.get_by_label("Endpoint URL").fill(endpoint.url("/gone"))
        await page.get_by_label("points.deducted").uncheck()
        await page.get_by_label("event.rejected").uncheck()
        await page.get_by_role("button", name="Create webhook").click()
        await expect(page.get_by_text("it is shown this once")).to_be_visible()
        secret = await page.get_by_label("Signing secret").input_value()
        assert secret.startswith("whsec_")
        await screenshot(page, "people-webhook-created")
        await page.get_by_role("link", name="Done").click()
        await expect(page.get_by_label("Signing secret")).to_have_count(0)
        assert secret not in await page.content()

        earned = await gateway_client.post(
            "/api/partner/events",
            json={"user_id": new_user(), "event_type": "purchase", "metadata": {"amount": 7}},
            headers={"X-API-Key": partner_key},
        )
        assert earned.status_code == 200, earned.text
        event_id = earned.json()["event_id"]
        row = page.get_by_role("row").filter(has_text=event_id[:20])

        async def shown_as(status: str, attempts: int) -> bool:
            await page.goto(f"/programmes/{PROGRAMME}/webhooks?webhook={hook}")
            if await row.count() != 1:
                return False
            text = await row.inner_text()
            return status in text and f"\t{attempts}\t" in text

        # The receiver answers 410 Gone: a final refusal, failed after one attempt.
        await until(lambda: shown_as("failed", 1), "the failed delivery")
        await expect(row).to_contain_text("HTTP 410")
        (first,) = [r for r in endpoint.received if r.path == "/gone"]
        assert signing.verify(secret, first.headers[signing.HEADER], first.body, int(time.time()))
        assert orjson.loads(first.body)["data"]["event_id"] == event_id
        await screenshot(page, "people-webhooks")

        await row.get_by_role("button", name="Retry now").click()
        await expect(page.get_by_role("status")).to_contain_text("is due now")
        await until(lambda: shown_as("failed", 2), "the retried delivery")
        assert len([r for r in endpoint.received if r.path == "/gone"]) == 2

        await page.get_by_role("button", name=f"Deactivate {hook}").click()
        await expect(page.get_by_role("status")).to_contain_text(f"Webhook {hook} deactivated")
        await expect(page.get_by_role("row").filter(has_text=hook).first).to_contain_text(
            "inactive"
        )

"""Access to the rules, event types and API clients pages and their admin-API twins: a viewer
sees every page without a change button or link and is refused every change (403); a form
posted without its CSRF token is refused and changes nothing."""

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e.console.conftest import RULES_PROGRAMME, RulesAccounts, bearer, log_in, screenshot

pytestmark = pytest.mark.e2e
PROGRAMME = f"/programmes/{RULES_PROGRAMME}"
CHANGES = ("Save", "Add event type", "Create client", "Revoke", "Activate rule", "End rule",
           "Add a condition")  # fmt: skip


async def test_a_viewer_sees_no_change_button_and_is_refused_changes(
    page: Page, rules_accounts: RulesAccounts, api: httpx.AsyncClient, console_url: str
) -> None:
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=console_url)
    await log_in(page, rules_accounts.viewer)
    for path in ("/rules", "/rules/video-10", "/event-types", "/event-types/watched_video",
                 "/clients", "/rules/video-10/share", "/rules/video-10/history"):  # fmt: skip
        await page.goto(f"{PROGRAMME}{path}")
        await expect(page.get_by_text("You are a viewer")).to_be_visible()
        for name in CHANGES:
            await expect(page.get_by_role("button", name=name)).to_have_count(0)
        await expect(page.get_by_role("link", name="New rule")).to_have_count(0)
    await page.goto(f"{PROGRAMME}/rules")
    await page.get_by_label("Actions for rule Ten minutes").click()
    await expect(page.get_by_role("link", name="View", exact=True)).to_be_visible()
    await expect(page.get_by_role("link", name="Share Rule ID")).to_be_visible()
    for name in ("Edit", "Activate…", "End…"):
        await expect(page.get_by_role("link", name=name, exact=True)).to_have_count(0)
    await screenshot(page, "rules-list-viewer")
    # Share Rule ID from the keyboard alone: the menu opens with Enter, its items are links.
    await page.keyboard.press("Escape")
    await page.goto(f"{PROGRAMME}/rules")
    await page.get_by_label("Actions for rule Any video").focus()
    await page.keyboard.press("Enter")
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="View", exact=True)).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Share Rule ID")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Share Rule ID: Any video")).to_be_visible()
    await expect(page.get_by_role("status")).to_have_text(
        "Rule ID video-default copied to the clipboard."
    )
    await page.goto(f"{PROGRAMME}/rules/video-10")
    await expect(page.get_by_label("Points", exact=True)).to_be_disabled()
    await screenshot(page, "rules-rule-viewer")

    # The confirmations and the forms' posts are refused alike.
    for path in ("/rules/new?event_type=api_reward", "/rules/video-10/end",
                 "/event-types/watched_video/remove"):  # fmt: skip
        assert (await page.request.get(f"{PROGRAMME}{path}")).status == 403
    csrf = await page.locator("input[name=csrf_token]").first.input_value()
    for path, form in [
        ("/rules/video-10", {"name": "viewer's", "points": "1"}),
        ("/rules/video-10/end", {}),
        ("/clients", {"client_id": "viewer-client"}),
        ("/event-types", {"name": "viewer_type"}),
    ]:
        posted = await page.request.post(f"{PROGRAMME}{path}", form={"csrf_token": csrf, **form})
        assert posted.status == 403, path

    viewer = bearer(rules_accounts.viewer)
    assert (await api.get(f"{PROGRAMME}/rules", headers=viewer)).status_code == 200
    refused = [
        await api.post(f"{PROGRAMME}/rules", headers=viewer,
                       json={"rule_id": "v", "event_type": "api_reward", "points": 1}),
        await api.put(f"{PROGRAMME}/rules/video-10", headers=viewer,
                      json={"event_type": "watched_video", "points": 1}),
        await api.post(f"{PROGRAMME}/rules/video-10/end", headers=viewer),
        await api.put(f"{PROGRAMME}/event-types/viewer_type", headers=viewer, json={}),
        await api.delete(f"{PROGRAMME}/event-types/api_reward", headers=viewer),
        await api.post(f"{PROGRAMME}/api-clients", headers=viewer, json={"client_id": "v"}),
        await api.delete(f"{PROGRAMME}/api-clients/v", headers=viewer),
    ]  # fmt: skip
    assert [(r.status_code, r.json()["error"]) for r in refused] == [(403, "forbidden")] * 7


async def test_forms_without_their_csrf_token_are_refused(
    page: Page, rules_accounts: RulesAccounts, api: httpx.AsyncClient
) -> None:
    owner = bearer(rules_accounts.owner)
    before = (await api.get(PROGRAMME, headers=owner)).json()["version"]
    await log_in(page, rules_accounts.editor)
    forms = [
        ("/rules/new", {"event_type": "api_reward", "name": "forged", "points": "5"}),
        ("/rules/video-10", {"name": "forged", "points": "5"}),
        ("/rules/video-10/end", {}),
        ("/clients", {"client_id": "forged-client"}),
        ("/clients/forged-client/revoke", {}),
        ("/event-types", {"name": "forged_type"}),
        ("/event-types/api_reward/remove", {}),
    ]
    for path, form in forms:
        for token in ({}, {"csrf_token": "guessed"}):
            posted = await page.request.post(f"{PROGRAMME}{path}", form={**form, **token})
            assert posted.status == 403, path
            assert "security token" in await posted.text()
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    # The session cookie on a client of its own (httpx deprecates cookies per request).
    async with httpx.AsyncClient(base_url=api.base_url, cookies=cookies) as session:
        answer = await session.post(f"{PROGRAMME}/rules/video-10/end")
    assert answer.status_code == 403
    assert (await api.get(PROGRAMME, headers=owner)).json()["version"] == before

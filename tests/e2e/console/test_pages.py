"""The console as a person uses it: logging in, the programmes, changing a programme's settings
(a new snapshot stored, published and applied by the partner API), creating a programme from
nothing, the programme as code, and the audit log with each change's before and after."""

import asyncio
import time
import uuid

import httpx
import pytest
from playwright.async_api import FilePayload, Page, expect

from tests.e2e.conftest import admin_cli, new_user
from tests.e2e.console.conftest import SETTINGS_PROGRAMME, Accounts, bearer, log_in, screenshot

pytestmark = pytest.mark.e2e
APPLIED_WITHIN_S = 30.0


async def stored_version(api: httpx.AsyncClient, accounts: Accounts, programme_id: str) -> int:
    answer = await api.get(f"/programmes/{programme_id}", headers=bearer(accounts.owner))
    assert answer.status_code == 200, answer.text
    version: int = answer.json()["version"]
    return version


async def test_an_admin_logs_in_and_sees_the_programmes(page: Page, accounts: Accounts) -> None:
    await page.goto("/")
    await expect(page).to_have_url("/login?next=%2F")
    await expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    await screenshot(page, "login")
    await log_in(page, accounts.owner)
    await expect(page.get_by_role("heading", name="Programmes")).to_be_visible()
    await expect(page.get_by_role("link", name=SETTINGS_PROGRAMME, exact=True)).to_be_visible()
    await expect(page.get_by_role("link", name="New programme")).to_be_visible()
    await screenshot(page, "home")


async def test_changed_settings_are_a_new_version_that_the_partner_api_applies(
    page: Page,
    accounts: Accounts,
    api: httpx.AsyncClient,
    gateway_client: httpx.AsyncClient,
    admin_env: dict[str, str],
) -> None:
    before = await stored_version(api, accounts, SETTINGS_PROGRAMME)
    key = await admin_cli(admin_env, "create-key", "--programme", SETTINGS_PROGRAMME,
                          "--partner", "shop")  # fmt: skip
    assert key.status == 0, key
    await log_in(page, accounts.editor)
    await page.goto(f"/programmes/{SETTINGS_PROGRAMME}")
    await page.get_by_label("Tier 1 multiplier").fill("2.5")
    await page.get_by_label("Time zone").fill("Africa/Accra")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.get_by_role("status")).to_contain_text(f"version {before + 1} is stored")
    await expect(page.get_by_label("Tier 1 multiplier")).to_have_value("2.5")
    await screenshot(page, "programme-settings")
    assert await stored_version(api, accounts, SETTINGS_PROGRAMME) == before + 1
    # The gateway and the processors apply the published snapshot: 10 GHS earn 25 points.
    deadline = time.monotonic() + APPLIED_WITHIN_S
    points = None
    while points != 25 and time.monotonic() < deadline:
        answer = await gateway_client.post(
            "/api/partner/events",
            json={"user_id": new_user(), "event_type": "purchase", "metadata": {"amount": 10}},
            headers={"X-API-Key": key.stdout.strip()},
        )
        assert answer.status_code == 200, answer.text
        points = answer.json()["points_awarded"]
        await asyncio.sleep(0.2)
    assert points == 25


async def test_invalid_settings_are_shown_beside_their_fields(
    page: Page, accounts: Accounts, api: httpx.AsyncClient
) -> None:
    before = await stored_version(api, accounts, SETTINGS_PROGRAMME)
    await log_in(page, accounts.editor)
    await page.goto(f"/programmes/{SETTINGS_PROGRAMME}")
    await page.get_by_label("Time zone").fill("Mars/Olympus")
    await page.get_by_label("Tier 1 multiplier").fill("lots")
    await page.get_by_label("Default tier").fill("Platinum")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.get_by_role("alert")).to_contain_text("not saved")
    time_zone = page.get_by_label("Time zone")
    await expect(time_zone).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#f-time_zone-problem")).to_have_text(
        "unknown IANA time zone 'Mars/Olympus'"
    )
    await expect(page.locator("#f-tiers-0-multiplier-problem")).to_contain_text("decimal")
    await expect(time_zone).to_have_value("Mars/Olympus")  # what was typed stays
    await screenshot(page, "programme-settings-errors")
    assert await stored_version(api, accounts, SETTINGS_PROGRAMME) == before


async def test_an_owner_creates_a_programme_from_nothing(
    page: Page, accounts: Accounts, api: httpx.AsyncClient
) -> None:
    programme_id = f"made-{uuid.uuid4().hex[:8]}"
    await log_in(page, accounts.owner)
    await page.get_by_role("link", name="New programme").click()
    await page.get_by_label("Programme id").fill("has spaces")
    await page.get_by_role("button", name="Create programme").click()
    await expect(page.locator("#f-programme_id-problem")).to_be_visible()
    await screenshot(page, "programme-new")
    await page.get_by_label("Programme id").fill(programme_id)
    await page.get_by_label("Name", exact=True).fill("Made in the console")
    await page.get_by_label("Environment").select_option("staging")
    await page.get_by_role("button", name="Create programme").click()
    await expect(page.get_by_role("heading", name="Made in the console")).to_be_visible()
    answer = await api.get(f"/programmes/{programme_id}", headers=bearer(accounts.owner))
    assert answer.json()["environment"] == "staging"
    assert answer.json()["version"] == 1


async def test_the_programme_as_code_exports_and_imports_a_file(
    page: Page, accounts: Accounts, api: httpx.AsyncClient
) -> None:
    await log_in(page, accounts.owner)
    await page.goto(f"/programmes/{SETTINGS_PROGRAMME}/code")
    await expect(
        page.get_by_role("heading", name="What the last loaded file changed")
    ).to_be_visible()
    async with page.expect_download() as download:
        await page.get_by_role("link", name=f"Export {SETTINGS_PROGRAMME}.yaml").click()
    exported = (await (await download.value).path()).read_text()
    version = await stored_version(api, accounts, SETTINGS_PROGRAMME)
    assert f"version: {version}\n" in exported
    # The file as it is: nothing changes; edited with a new version: stored from that file.
    await page.get_by_label("Programme file (YAML or JSON)").set_input_files(
        files=FilePayload(name="same.yaml", mimeType="application/yaml", buffer=exported.encode())
    )
    await page.get_by_role("button", name="Load file").click()
    await expect(page.get_by_role("status")).to_contain_text("nothing changed")
    edited = exported.replace(f"version: {version}\n", f"version: {version + 1}\n", 1)
    edited = edited.replace("name: Console settings", "name: Console settings, from a file")
    await page.get_by_label("Programme file (YAML or JSON)").set_input_files(
        files=FilePayload(name="edited.yaml", mimeType="application/yaml", buffer=edited.encode())
    )
    await page.get_by_role("button", name="Load file").click()
    await expect(page.get_by_role("status")).to_contain_text(f"version {version + 1} is stored")
    await expect(page.get_by_text("From a programme file: edited.yaml")).to_be_visible()
    await expect(page.get_by_role("cell", name="Console settings, from a file")).to_be_visible()
    await screenshot(page, "programme-code")


async def test_the_audit_log_shows_each_change_with_before_and_after(
    page: Page, accounts: Accounts, api: httpx.AsyncClient
) -> None:
    name = f"Audited {uuid.uuid4().hex[:6]}"
    settings = await api.get(
        f"/programmes/{SETTINGS_PROGRAMME}/settings", headers=bearer(accounts.editor)
    )
    changed = await api.put(
        f"/programmes/{SETTINGS_PROGRAMME}/settings",
        json={**settings.json(), "name": name},
        headers=bearer(accounts.editor),
    )
    assert changed.status_code == 200, changed.text
    await log_in(page, accounts.owner)
    await page.get_by_role("link", name="Audit log").click()
    await page.get_by_label("Programme").select_option(SETTINGS_PROGRAMME)
    await expect(page).to_have_url(f"/audit?programme={SETTINGS_PROGRAMME}&object_type=&object_id=")
    row = page.get_by_role("row").filter(has_text=name)
    await expect(row).to_contain_text(f"{accounts.editor.email} (token")
    await expect(row).to_contain_text("programme.settings_changed")
    await expect(row).to_contain_text(f"name: Console settings, from a file → {name}")
    await screenshot(page, "audit-log")

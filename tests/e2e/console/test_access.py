"""Access to the console: a viewer sees no change button and is refused any change (403); a
form posted without its CSRF token is refused; five wrong passwords lock the login; the login
form works from the keyboard alone; session cookies are HttpOnly, SameSite=Lax, and Secure
over TLS."""

import re
import uuid

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import admin_cli
from tests.e2e.console.conftest import (
    SETTINGS_PROGRAMME,
    Account,
    Accounts,
    bearer,
    log_in,
    screenshot,
)

pytestmark = pytest.mark.e2e


async def test_a_viewer_sees_no_change_button_and_is_refused_changes(
    page: Page, accounts: Accounts, api: httpx.AsyncClient
) -> None:
    await log_in(page, accounts.viewer)
    await page.goto(f"/programmes/{SETTINGS_PROGRAMME}")
    await expect(page.get_by_text("You are a viewer")).to_be_visible()
    await expect(page.get_by_role("button", name="Save settings")).to_have_count(0)
    await expect(page.get_by_label("Time zone")).to_be_disabled()
    await screenshot(page, "programme-settings-viewer")
    for tab in ("partners", "keys", "code"):
        await page.goto(f"/programmes/{SETTINGS_PROGRAMME}/{tab}")
        await expect(page.get_by_role("button")).to_have_count(1)  # Log out, no other
    # The form's post and the API's change are refused alike.
    csrf = await page.locator("input[name=csrf_token]").first.input_value()
    posted = await page.request.post(
        f"/programmes/{SETTINGS_PROGRAMME}", form={"csrf_token": csrf, "name": "viewer's"}
    )
    assert posted.status == 403
    settings = await api.get(
        f"/programmes/{SETTINGS_PROGRAMME}/settings", headers=bearer(accounts.viewer)
    )
    assert settings.status_code == 200
    changed = await api.put(
        f"/programmes/{SETTINGS_PROGRAMME}/settings",
        json={**settings.json(), "name": "viewer's"},
        headers=bearer(accounts.viewer),
    )
    assert changed.status_code == 403
    assert changed.json()["error"] == "forbidden"


async def test_a_form_without_its_csrf_token_is_refused(
    page: Page, accounts: Accounts, api: httpx.AsyncClient
) -> None:
    await log_in(page, accounts.editor)
    before = await api.get(f"/programmes/{SETTINGS_PROGRAMME}", headers=bearer(accounts.owner))
    forms: list[dict[str, str | float | bool]] = [
        {"name": "forged"},
        {"name": "forged", "csrf_token": "guessed"},
    ]
    for form in forms:
        posted = await page.request.post(f"/programmes/{SETTINGS_PROGRAMME}", form=form)
        assert posted.status == 403
        assert "security token" in await posted.text()
    # The admin API with the session's cookie but no X-CSRF-Token header: refused too.
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    # The session cookie on a client of its own (httpx deprecates cookies per request).
    async with httpx.AsyncClient(base_url=api.base_url, cookies=cookies) as session:
        answer = await session.put(f"/programmes/{SETTINGS_PROGRAMME}/settings", json={})
    assert answer.status_code == 403
    after = await api.get(f"/programmes/{SETTINGS_PROGRAMME}", headers=bearer(accounts.owner))
    assert after.json()["version"] == before.json()["version"]


async def test_five_wrong_passwords_lock_the_login(page: Page, admin_env: dict[str, str]) -> None:
    email = f"locked-{uuid.uuid4().hex[:8]}@example.com"
    made = await admin_cli(
        admin_env, "create-admin", "--email", email, "--role", "viewer",
        "--programme", SETTINGS_PROGRAMME, "--generate-password",
    )  # fmt: skip
    assert made.status == 0, made
    password = made.stdout.split("password (shown once): ")[1].strip()
    wrong = Account(email, "not the password", "")
    for _ in range(5):
        await page.goto("/login")
        await page.get_by_label("Email").fill(wrong.email)
        await page.get_by_label("Password").fill(wrong.password)
        await page.get_by_role("button", name="Log in").click()
        await expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    # The right password now: refused all the same, for a while.
    await page.get_by_label("Password").fill(password)
    async with page.expect_response("**/login") as answer:
        await page.get_by_role("button", name="Log in").click()
    assert (await answer.value).status == 429
    await expect(page.get_by_role("alert")).to_contain_text("Too many failed logins")
    await screenshot(page, "login-rate-limited")


async def test_the_login_form_works_from_the_keyboard(page: Page, accounts: Accounts) -> None:
    await page.goto("/login")
    await expect(page.get_by_label("Email")).to_be_focused()
    await page.keyboard.type(accounts.editor.email)
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Password")).to_be_focused()
    await page.keyboard.type(accounts.editor.password)
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/")
    await expect(page.get_by_role("heading", name="Programmes")).to_be_visible()
    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_role("heading", name="Log in")).to_be_visible()


async def test_session_cookies_are_http_only_same_site_and_secure_over_tls(
    page: Page, accounts: Accounts, console_url: str
) -> None:
    # Over plain HTTP, in the browser: no script reads the cookie, no other site sends it.
    await log_in(page, accounts.viewer)
    (session,) = [c for c in await page.context.cookies() if c["name"] == "loyalty_session"]
    assert (session["httpOnly"], session["sameSite"], session["secure"]) == (True, "Lax", False)

    # Over TLS, as a proxy trusted by the console (127.0.0.1) says: every cookie is Secure too.
    tls = {"X-Forwarded-Proto": "https"}
    async with httpx.AsyncClient(base_url=console_url, timeout=30.0) as client:
        form = await client.get("/login", headers=tls)
        login_cookie = form.headers["set-cookie"]
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None, form.text
        # httpx keeps Secure cookies for https only: the login cookie is sent by hand.
        answer = await client.post(
            "/login",
            data={"email": accounts.viewer.email, "password": accounts.viewer.password,
                  "csrf_token": token[1], "next": "/"},
            headers=tls | {"Cookie": f"loyalty_login_csrf={token[1]}"},
        )  # fmt: skip
    assert answer.status_code == 303, answer.text
    for cookie in (login_cookie, answer.headers["set-cookie"]):
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "samesite=lax", "secure"} <= flags, cookie
    assert answer.headers["set-cookie"].startswith("loyalty_session=")


async def test_a_form_posts_its_csrf_token_without_javascript(
    browser: Browser, console_url: str, accounts: Accounts, api: httpx.AsyncClient
) -> None:
    """The token is in every form, not only in htmx's header: with scripts off (or htmx not
    loaded) a form still posts and is accepted."""
    context = await browser.new_context(base_url=console_url, java_script_enabled=False)
    try:
        page = await context.new_page()
        await log_in(page, accounts.owner)
        await page.goto("/programmes/new")
        token = page.locator("form[action='/programmes/new'] input[name=csrf_token]")
        assert await token.input_value() != ""
        programme_id = f"no-script-{uuid.uuid4().hex[:8]}"
        await page.get_by_label("Programme id").fill(programme_id)
        await page.get_by_label("Name", exact=True).fill("Made without scripts")
        await page.get_by_role("button", name="Create programme").click()
        await expect(page.get_by_role("heading", name="Made without scripts")).to_be_visible()
    finally:
        await context.close()
    made = await api.get(f"/programmes/{programme_id}", headers=bearer(accounts.owner))
    assert made.status_code == 200, made.text

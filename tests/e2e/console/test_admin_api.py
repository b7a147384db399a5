"""The admin API, the console pages' twin, with admin API tokens: its own OpenAPI document,
who the caller is, programmes granted or invisible, a change made and audited (the audit log's
API list: who, when, the object, before and after); a typed password stored only as argon2, a
token only as its SHA-256."""

import asyncio
import hashlib
import re
import sys
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from argon2 import PasswordHasher

from tests.e2e.conftest import admin_cli
from tests.e2e.console.conftest import PARTNERS_PROGRAMME, SETTINGS_PROGRAMME, Accounts, bearer

pytestmark = pytest.mark.e2e


async def test_the_admin_api_has_its_own_openapi_document(api: httpx.AsyncClient) -> None:
    answer = await api.get("/openapi.json")
    assert answer.status_code == 200
    document = answer.json()
    assert document["info"]["title"] == "Loyalty points engine: admin API"
    assert "/programmes/{programme_id}/settings" in document["paths"]


async def test_a_token_acts_as_its_admin(api: httpx.AsyncClient, accounts: Accounts) -> None:
    me = await api.get("/me", headers=bearer(accounts.editor))
    assert me.json()["email"] == accounts.editor.email
    assert me.json()["role"] == "editor"
    listed = await api.get("/programmes", headers=bearer(accounts.stranger))
    assert listed.json() == []
    hidden = await api.get(f"/programmes/{SETTINGS_PROGRAMME}", headers=bearer(accounts.stranger))
    assert (hidden.status_code, hidden.json()["error"]) == (404, "not_found")
    nobody = await api.get("/me", headers={"Authorization": "Bearer lat_nothing_here"})
    assert (nobody.status_code, nobody.json()["error"]) == (401, "unauthorized")
    assert (await api.get("/me")).status_code == 401


async def test_an_invalid_change_names_its_fields(
    api: httpx.AsyncClient, accounts: Accounts
) -> None:
    settings = (await api.get(f"/programmes/{SETTINGS_PROGRAMME}/settings",
                              headers=bearer(accounts.editor))).json()  # fmt: skip
    answer = await api.put(
        f"/programmes/{SETTINGS_PROGRAMME}/settings",
        json={**settings, "default_tier": "Nowhere"},
        headers=bearer(accounts.editor),
    )
    assert answer.status_code == 400
    assert answer.json()["fields"] == {"default_tier": ["'Nowhere' is not one of the tiers"]}


async def test_a_revoked_token_is_refused(
    api: httpx.AsyncClient, accounts: Accounts, admin_env: dict[str, str]
) -> None:
    made = await admin_cli(admin_env, "create-token", "--email", accounts.viewer.email,
                           "--name", "short-lived")  # fmt: skip
    token = made.stdout.strip()
    assert (await api.get("/me", headers={"Authorization": f"Bearer {token}"})).status_code == 200
    revoked = await admin_cli(admin_env, "revoke-token", token.split("_")[1])
    assert revoked.status == 0, revoked
    answer = await api.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401


async def test_a_shadow_run_through_the_admin_api(
    api: httpx.AsyncClient, accounts: Accounts
) -> None:
    """Started with a candidate file (its problems answered by field), listed, reported on,
    stopped; a viewer reads but does not start; a stranger sees nothing."""
    runs = f"/programmes/{PARTNERS_PROGRAMME}/shadow-runs"
    other = await api.post(runs, json={"candidate": "programme_id: elsewhere\nversion: 1\n"},
                           headers=bearer(accounts.editor))  # fmt: skip
    assert (other.status_code, other.json()["error"]) == (400, "invalid_request")
    broken = await api.post(runs, json={"candidate": "rules: [\n"}, headers=bearer(accounts.editor))
    assert broken.status_code == 400
    assert "not YAML" in broken.json()["message"]
    candidate = f"programme_id: {PARTNERS_PROGRAMME}\nversion: 7\n"
    refused = await api.post(runs, json={"candidate": candidate}, headers=bearer(accounts.viewer))
    assert refused.status_code == 403
    started = await api.post(runs, json={"candidate": candidate}, headers=bearer(accounts.editor))
    assert started.status_code == 201, started.text
    run = started.json()
    assert (run["status"], run["candidate_version"]) == ("running", 7)
    listed = await api.get(runs, headers=bearer(accounts.viewer))
    assert run["run_id"] in [found["run_id"] for found in listed.json()]
    hidden = await api.get(f"/shadow-runs/{run['run_id']}", headers=bearer(accounts.stranger))
    assert hidden.status_code == 404
    report = await api.get(f"/shadow-runs/{run['run_id']}/report", headers=bearer(accounts.viewer))
    assert report.status_code == 200, report.text
    assert report.json()["run"]["run_id"] == run["run_id"]
    page = await api.get(f"/shadow-runs/{run['run_id']}/report.html",
                         headers=bearer(accounts.viewer))  # fmt: skip
    assert f"Shadow run {run['run_id']} of {PARTNERS_PROGRAMME}" in page.text
    stopped = await api.post(f"/shadow-runs/{run['run_id']}/stop", headers=bearer(accounts.editor))
    assert stopped.json()["status"] == "stopped"


async def test_a_typed_password_is_stored_as_argon2_and_a_token_as_its_digest(
    api: httpx.AsyncClient, admin_env: dict[str, str], console_url: str
) -> None:
    """`create-admin` asks for the password twice (no terminal here: getpass reads stdin), the
    admin logs in with it; only an argon2 hash of it, and only a SHA-256 of a token, is kept."""
    email = f"typed-{uuid.uuid4().hex[:8]}@example.com"
    password = f"typed password {uuid.uuid4().hex[:6]}"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.admin.cli", "create-admin", "--email", email,
        "--role", "viewer", "--programme", SETTINGS_PROGRAMME,
        env=admin_env, start_new_session=True,  # no controlling terminal: stdin is asked
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate(f"{password}\n{password}\n".encode())
    assert process.returncode == 0, (out, err)
    assert password not in out.decode()
    token = await admin_cli(admin_env, "create-token", "--email", email, "--name", "ci")
    secret = token.stdout.strip()
    async with httpx.AsyncClient(base_url=console_url) as console:
        form = await console.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert csrf is not None
        logged = await console.post(
            "/login", data={"email": email, "password": password, "csrf_token": csrf[1]}
        )
    assert logged.status_code == 303, logged.text
    me = await api.get("/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.json()["email"] == email

    connection = await asyncpg.connect(admin_env["LOYALTY_DATABASE_URL"])
    try:
        row = await connection.fetchrow(
            "SELECT a.*, t.token_sha256 FROM admins a JOIN admin_tokens t USING (admin_id) "
            "WHERE a.email = $1", email
        )  # fmt: skip
    finally:
        await connection.close()
    assert row is not None
    assert row["password_hash"].startswith("$argon2id$")
    assert PasswordHasher().verify(row["password_hash"], password)
    assert row["token_sha256"] == hashlib.sha256(secret.encode()).digest()
    stored = " ".join(str(value) for value in row.values())
    assert password not in stored
    assert secret not in stored


async def test_the_audit_api_lists_each_change_with_who_when_and_before_and_after(
    api: httpx.AsyncClient, accounts: Accounts
) -> None:
    path = f"/programmes/{PARTNERS_PROGRAMME}/settings"
    settings = (await api.get(path, headers=bearer(accounts.editor))).json()
    started = datetime.now(UTC)
    renamed = f"Audited {uuid.uuid4().hex[:6]}"
    for name in (renamed, settings["name"]):
        changed = await api.put(
            path, json={**settings, "name": name}, headers=bearer(accounts.editor)
        )
        assert changed.status_code == 200, changed.text
    listed = await api.get(
        "/audit",
        params={"programme_id": PARTNERS_PROGRAMME, "object_type": "programme", "limit": 2},
        headers=bearer(accounts.viewer),
    )
    assert listed.status_code == 200, listed.text
    back, forth = listed.json()["entries"]  # newest first
    for entry, before, after in ((forth, settings["name"], renamed), (back, renamed, None)):
        assert entry["actor"].startswith(f"{accounts.editor.email} (token ")
        assert entry["object_id"] == PARTNERS_PROGRAMME
        assert datetime.fromisoformat(entry["at"]) >= started - timedelta(seconds=5)
        assert {"path": "name", "before": before, "after": after or settings["name"]} in (
            entry["changes"]
        )
        assert entry["before"]["name"] == before
    # A programme not granted does not exist for its admin, nor do its entries.
    hidden = await api.get(
        "/audit", params={"programme_id": PARTNERS_PROGRAMME}, headers=bearer(accounts.stranger)
    )
    assert (hidden.status_code, hidden.json()["error"]) == (404, "not_found")
    everything = await api.get("/audit", headers=bearer(accounts.stranger))
    assert PARTNERS_PROGRAMME not in {e["programme_id"] for e in everything.json()["entries"]}

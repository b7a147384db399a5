"""The admin API, the console pages' twin, with admin API tokens: its own OpenAPI document,
who the caller is, programmes granted or invisible, a change made and audited."""

import httpx
import pytest

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

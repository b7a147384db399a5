"""The rules, event types and API clients through the admin API, the console's twin, with an
admin API token: each change a new snapshot, a rule's versions and history, its activation
previewed then made against the reviewed version, Share Rule ID's details, clients with the
rules that authorise them, and the refusals (400 by field, 409)."""

import uuid

import httpx
import pytest

from tests.e2e.console.conftest import RULES_PROGRAMME, RulesAccounts, bearer

pytestmark = pytest.mark.e2e
PROGRAMME = f"/programmes/{RULES_PROGRAMME}"


async def test_a_rule_is_drafted_edited_activated_and_ended_through_the_api(
    api: httpx.AsyncClient, rules_accounts: RulesAccounts
) -> None:
    editor = bearer(rules_accounts.editor)
    suffix = uuid.uuid4().hex[:6]
    event_type, client_id, rule_id = f"order_{suffix}", f"shop-{suffix}", f"order-bonus-{suffix}"

    typed = await api.put(
        f"{PROGRAMME}/event-types/{event_type}", headers=editor,
        json={"parameters": [{"name": "amount", "type": "float", "mandatory": True}]},
    )  # fmt: skip
    assert typed.status_code == 200, typed.text
    made = await api.post(f"{PROGRAMME}/api-clients", headers=editor, json={"client_id": client_id})
    assert made.status_code == 201, made.text
    assert made.json()["programme_version"] == typed.json()["version"] + 1
    assert len(made.json()["client_secret"]) >= 40

    body = {"event_type": event_type, "name": "Order bonus", "points": "2",
            "points_type": "per_unit", "unit_field": "amount", "trigger": "api",
            "authorised_clients": [client_id], "budget_max": 500}  # fmt: skip
    wrong = await api.post(
        f"{PROGRAMME}/rules", headers=editor,
        json={**body, "rule_id": rule_id, "conditions": [
            {"parameter": "amount", "operator": "contains", "value": "x"}]},
    )  # fmt: skip
    assert wrong.status_code == 400
    assert wrong.json()["fields"] == {
        "conditions.0.operator": ["'contains' does not apply to float parameter 'amount'"]
    }
    new = {**body, "rule_id": rule_id}
    created = await api.post(f"{PROGRAMME}/rules", headers=editor, json=new)
    assert created.status_code == 201, created.text
    assert (created.json()["rule"]["version"], created.json()["rule"]["status"]) == (1, "draft")
    again = await api.put(f"{PROGRAMME}/rules/{rule_id}", headers=editor, json=body)
    assert again.json()["changed"] is False
    edited = await api.put(f"{PROGRAMME}/rules/{rule_id}", headers=editor,
                           json={**body, "points": "3"})  # fmt: skip
    assert (edited.json()["rule"]["version"], edited.json()["version"]) == (
        2, created.json()["version"] + 1,
    )  # fmt: skip

    preview = await api.get(f"{PROGRAMME}/rules/{rule_id}/activation", headers=editor)
    assert {"path": f"rules[{rule_id}].status", "before": "draft", "after": "active"} in (
        preview.json()
    )
    stale = await api.post(
        f"{PROGRAMME}/rules/{rule_id}/activate",
        params={"expected_version": created.json()["version"]}, headers=editor,
    )  # fmt: skip
    assert (stale.status_code, stale.json()["error"]) == (409, "conflict")
    active = await api.post(
        f"{PROGRAMME}/rules/{rule_id}/activate",
        params={"expected_version": edited.json()["version"]}, headers=editor,
    )  # fmt: skip
    assert active.json()["rule"]["status"] == "active"
    assert active.json()["rule"]["version"] == 2  # activation changes the status, not the rule

    history = (await api.get(f"{PROGRAMME}/rules/{rule_id}/history", headers=editor)).json()
    assert [(h["rule"]["version"], h["rule"]["status"], h["created"]) for h in history] == [
        (2, "active", False), (2, "draft", False), (1, "draft", True),
    ]  # fmt: skip
    assert {"path": "points", "before": "2", "after": "3"} in history[1]["changes"]

    share = (await api.get(f"{PROGRAMME}/rules/{rule_id}/share", headers=editor)).json()
    assert (share["rule_type"], share["environment"]) == ("Earn Points", "Production")
    assert share["url_endpoint"].endswith(f"/api/rules/{rule_id}/trigger")
    assert share["guide_url"].endswith("/guides/api-triggered-rules")
    assert client_id not in share["mailto"]

    listed = (await api.get(f"{PROGRAMME}/api-clients", headers=editor)).json()
    (client,) = [c for c in listed if c["client_id"] == client_id]
    assert (client["status"], client["declared"], client["rules"]) == (
        "active", True, [{"rule_id": rule_id, "status": "active"}],
    )  # fmt: skip
    in_use = await api.delete(f"{PROGRAMME}/event-types/{event_type}", headers=editor)
    assert in_use.status_code == 409
    assert f"rule {rule_id} (active)" in in_use.json()["message"]

    revoked = await api.delete(f"{PROGRAMME}/api-clients/{client_id}", headers=editor)
    assert revoked.status_code == 204
    listed = (await api.get(f"{PROGRAMME}/api-clients", headers=editor)).json()
    assert [c["status"] for c in listed if c["client_id"] == client_id] == ["revoked"]
    taken = await api.post(
        f"{PROGRAMME}/api-clients", headers=editor, json={"client_id": client_id}
    )
    assert taken.status_code == 409

    ended = await api.post(f"{PROGRAMME}/rules/{rule_id}/end", headers=editor)
    assert ended.json()["rule"]["status"] == "ended"
    frozen = await api.put(f"{PROGRAMME}/rules/{rule_id}", headers=editor, json=body)
    assert frozen.status_code == 409

    # Listed in the order the engine tries them: by priority, the default rule after, ended last.
    listed_rules = (await api.get(f"{PROGRAMME}/rules", headers=editor)).json()
    video = [r for r in listed_rules if r["event_type"] == "watched_video"]
    assert video[0]["rule_id"] == "video-10"
    places = [(r["status"] == "ended", r["default"]) for r in video]
    assert places == sorted(places)


async def test_the_admin_api_documents_the_new_routes(api: httpx.AsyncClient) -> None:
    paths = (await api.get("/openapi.json")).json()["paths"]
    assert {
        "/programmes/{programme_id}/event-types/{name}", "/programmes/{programme_id}/rules",
        "/programmes/{programme_id}/rules/{rule_id}/activate",
        "/programmes/{programme_id}/rules/{rule_id}/history",
        "/programmes/{programme_id}/rules/{rule_id}/share",
        "/programmes/{programme_id}/api-clients/{client_id}",
    } <= set(paths)  # fmt: skip

"""Import and export against the running system (issue 18): opening balances and history booked
as given through the ledger writer, once however often their files are imported, refused rows
reported by line; balances as of a past instant (CLI, admin API, the partner's `?as_of=`) and a
programme's transactions of a period as CSV."""

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest

from tests.e2e.conftest import Credentials, RunTopics, admin_cli, new_user
from tests.e2e.console.conftest import Accounts, bearer

pytestmark = pytest.mark.e2e
PROGRAMME = "e2e"
WAIT_S = 60.0


async def balance(gateway: httpx.AsyncClient, key: str, user_id: str, **params: str) -> int:
    answer = await gateway.get(
        f"/api/partner/users/{user_id}/balance", params=params, headers={"X-API-Key": key}
    )
    assert answer.status_code == 200, answer.text
    points = answer.json()["balance"]
    assert isinstance(points, int)
    return points


async def balance_reaches(
    gateway: httpx.AsyncClient, key: str, user_id: str, expected: int
) -> None:
    async with asyncio.timeout(WAIT_S):
        while True:
            answer = await gateway.get(
                f"/api/partner/users/{user_id}/balance", headers={"X-API-Key": key}
            )
            if answer.status_code == 200 and answer.json()["balance"] == expected:
                return
            await asyncio.sleep(0.2)


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_balances_are_imported_once_and_read_back_as_of_an_instant(
    gateway_client: httpx.AsyncClient,
    api: httpx.AsyncClient,
    credentials: Credentials,
    accounts: Accounts,
    admin_env: dict[str, str],
    session_topics: RunTopics,
    tmp_path: Path,
) -> None:
    ann, bob, cid = new_user(), new_user(), new_user()
    start = datetime.now(UTC)
    expiry = (start + timedelta(days=400)).date().isoformat()
    path = tmp_path / "balances.csv"
    path.write_text(
        "user_id,points,expires_on,reason\n"
        f"{ann},120,{expiry},Balance from OldEngine\n"
        f"{bob},35,,\n"
        f"{cid},0,,\n"
        f"{cid},-4,,\n"
        f"{cid},8,2001-01-01,\n"
    )
    commands = session_topics.settings["LOYALTY_LEDGER_COMMANDS_TOPIC"]
    command = ("import-balances", str(path), "--programme", PROGRAMME, "--topic", commands)
    first = await admin_cli(admin_env, *command)
    assert first.status == 2, first
    assert "2 rows booked (155 points), 0 already booked, 1 of 0 points, 2 refused" in first.stdout
    assert first.stderr.splitlines() == [
        "line 5: points: -4 is negative: a balance is 0 or more",
        f"line 6: expires_on: 2001-01-01 is not after today ({start.date().isoformat()}): "
        "these points have expired",
    ]
    again = await admin_cli(admin_env, *command)
    assert "0 rows booked (0 points), 2 already booked" in again.stdout, again
    assert await balance(gateway_client, credentials.partner, ann) == 120
    assert await balance(gateway_client, credentials.partner, bob) == 35

    imported = datetime.now(UTC)
    # Later history: ann earns 5 live; her balance then differs from the one as of `imported`.
    live = await gateway_client.post(
        "/api/partner/events",
        json={"user_id": ann, "event_type": "article_read"},
        headers={"X-API-Key": credentials.partner},
    )
    assert live.json()["points_awarded"] == 5, live.text
    assert await balance(gateway_client, credentials.partner, ann) == 125
    as_of = imported.isoformat()
    assert await balance(gateway_client, credentials.partner, ann, as_of=as_of) == 120
    before = (start - timedelta(seconds=1)).isoformat()
    assert await balance(gateway_client, credentials.partner, ann, as_of=before) == 0
    future = await gateway_client.get(
        f"/api/partner/users/{ann}/balance",
        params={"as_of": (datetime.now(UTC) + timedelta(days=1)).isoformat()},
        headers={"X-API-Key": credentials.partner},
    )
    assert (future.status_code, future.json()["error"]) == (400, "invalid_request")

    exported = await admin_cli(
        admin_env, "export-balances", "--programme", PROGRAMME, "--as-of", as_of
    )
    assert exported.status == 0, exported
    ours = {ann, bob, cid}
    mine = {
        r["user_id"]: int(r["points"]) for r in csv_rows(exported.stdout) if r["user_id"] in ours
    }
    assert mine == {ann: 120, bob: 35}
    answer = await api.get(
        f"/programmes/{PROGRAMME}/balances.csv",
        params={"as_of": as_of},
        headers=bearer(accounts.owner),
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.text == exported.stdout
    now_rows = await api.get(
        f"/programmes/{PROGRAMME}/balances.csv", headers=bearer(accounts.owner)
    )
    assert {r["user_id"]: r["points"] for r in csv_rows(now_rows.text)}[ann] == "125"

    period = {"from": start.isoformat(), "to": datetime.now(UTC).isoformat()}
    transactions = await api.get(
        f"/programmes/{PROGRAMME}/transactions.csv", params=period, headers=bearer(accounts.owner)
    )
    assert transactions.status_code == 200, transactions.text
    entries = [r for r in csv_rows(transactions.text) if r["user_id"] == ann]
    assert [(e["points"], e["balance_after"], e["expires_on"]) for e in entries] == [
        ("120", "120", expiry),
        ("5", "125", ""),
    ]
    cli = await admin_cli(admin_env, "export-transactions", "--programme", PROGRAMME,
                          "--from", period["from"], "--to", period["to"])  # fmt: skip
    assert cli.stdout == transactions.text


async def test_history_booked_as_given_is_booked_once(
    gateway_client: httpx.AsyncClient,
    credentials: Credentials,
    admin_env: dict[str, str],
    session_topics: RunTopics,
    tmp_path: Path,
) -> None:
    user_id = new_user()

    def row(**fields: object) -> bytes:
        return orjson.dumps({"programme_id": PROGRAMME, "user_id": user_id} | fields)

    path = tmp_path / "history.jsonl"
    path.write_bytes(b"\n".join([
        row(occurred_at="2024-01-05T10:00:00Z", points=100, reason="Welcome (OldEngine)"),
        row(occurred_at="2024-02-01T10:00:00Z", points=-30, variety="Redemption"),
        row(occurred_at="2024-02-02T10:00:00Z", points=0),
        row(occurred_at="2024-02-03T10:00:00Z", points=-500, variety="Redemption"),
        row(occurred_at="2024-03-01T10:00:00Z", points=7, event_type="purchase"),
    ]) + b"\n")  # fmt: skip
    commands = session_topics.settings["LOYALTY_LEDGER_COMMANDS_TOPIC"]
    command = ("import-events", str(path), "--as-given", "--topic", commands)
    first = await admin_cli(admin_env, *command)
    assert first.status == 2, first
    assert "3 rows booked as given (77 points), 0 already booked, 2 refused" in first.stdout
    refused = first.stderr.splitlines()
    assert refused[0].startswith("line 3: points: 0 books nothing"), refused
    assert refused[1].startswith("line 4: insufficient_points"), refused
    await balance_reaches(gateway_client, credentials.partner, user_id, 77)
    again = await admin_cli(admin_env, *command)
    assert "0 rows booked as given (0 points), 3 already booked, 2 refused" in again.stdout, again
    assert await balance(gateway_client, credentials.partner, user_id) == 77
    history = await gateway_client.get(
        f"/api/partner/users/{user_id}/transactions", headers={"X-API-Key": credentials.partner}
    )
    assert [t["value"] for t in history.json()["transactions"]] == [100, -30, 7]
    before_march = "2024-02-15T00:00:00Z"
    # As of a past instant means booked by then, not dated by then: all of it was booked today.
    assert await balance(gateway_client, credentials.partner, user_id, as_of=before_march) == 0


async def test_bad_input_is_one_line_and_exit_2(
    admin_env: dict[str, str], api: httpx.AsyncClient, accounts: Accounts, tmp_path: Path
) -> None:
    missing = tmp_path / "nothing.csv"
    for args, problem in [
        (("import-balances", str(missing), "--programme", PROGRAMME), f"cannot read {missing}"),
        (("export-balances", "--programme", PROGRAMME, "--as-of", "yesterday"), "--as-of"),
        (("export-balances", "--programme", "no-such-programme"), "no-such-programme"),
        (("export-transactions", "--programme", PROGRAMME, "--from", "2025-02-01T00:00:00Z",
          "--to", "2025-01-01T00:00:00Z"), "end after it starts"),
    ]:  # fmt: skip
        run = await admin_cli(admin_env, *args)
        assert run.status == 2, run
        assert len(run.stderr.splitlines()) == 1, run
        assert problem in run.stderr, run
        assert run.stderr.startswith("error: "), run
    header = tmp_path / "bad.csv"
    header.write_text("user,points\nann,1\n")
    bad = await admin_cli(admin_env, "import-balances", str(header), "--programme", PROGRAMME)
    assert (bad.status, bad.stderr.count("\n")) == (2, 1), bad
    assert "unknown column(s) 'user'" in bad.stderr
    naive = await api.get(
        f"/programmes/{PROGRAMME}/balances.csv",
        params={"as_of": "2025-01-01T00:00:00"},
        headers=bearer(accounts.owner),
    )
    assert naive.status_code == 400

"""`loyalty-admin` without servers: every command's help shows an example, and every refusal a
user can cause before reaching a server (or when none answers) is one line on stderr with exit
status 2, never a traceback. The refusals that need a server are in tests/e2e/test_admin_cli.py."""

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from gateway.admin import refusals
from gateway.admin.cli import app
from gateway.admin.resources import server_of

# Nothing listens on port 1: a connection is refused at once.
NOWHERE = {
    "LOYALTY_DATABASE_URL": "postgresql://loyalty:secret-password@127.0.0.1:1/loyalty",
    "LOYALTY_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
}
COMMANDS = sorted(typer.main.get_group(app).commands)


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner(env={**NOWHERE, **(env or {})}).invoke(app, list(args))


def assert_refused(result: Result, *fragments: str) -> None:
    """Exit status 2 and exactly one line on stderr, `error: ...`, holding every fragment."""
    assert result.exit_code == refusals.REFUSED, (result.exit_code, result.output)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_the_commands_are_all_there() -> None:
    assert set(COMMANDS) >= {
        "load-programme", "republish", "create-key", "create-topics", "create-client",
        "create-webhook", "load-myrewards", "seed-demo", "create-offer", "check-ledger",
        "set-tier",
    }  # fmt: skip


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_help_shows_an_example(command: str | None) -> None:
    result = invoke(*([] if command is None else [command]), "--help")
    assert result.exit_code == 0, result.output
    expected = "Example: loyalty-admin" + ("" if command is None else f" {command}")
    assert expected in " ".join(result.stdout.split())


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ([], "missing command"),
        (["no-such-command"], "no such command 'no-such-command'"),
        (["create-key", "--programme", "demo"], "missing option '--partner'"),
        (
            ["create-key", "--programme", "demo", "--partner", "p", "--environment", "prod"],
            "'prod' is not one of 'production', 'staging'",
        ),
        (["create-topics", "--partitions", "0"], "--partitions"),
        (["create-topics", "--partitions", "x"], "'--partitions': Input should be a valid integer"),
        (["load-programme"], "missing argument"),
        (["check-ledger", "--examples", "5000"], "--examples"),
        (["set-tier", "--programme", "demo", "--user", "u"], "missing option '--tier'"),
        (
            ["create-webhook", "--id", "w", "--programme", "p", "--url", "https://x",
             "--events", "points.awarded", "points.lost"],
            "['points.lost'] are not among",
        ),
        (["create-webhook", "--id", "w", "--programme", "p", "--url", "https://x", "extra"],
         "unexpected arguments ['extra']"),
        (["create-offer", "--programme", "p", "--name", "n", "--points", "0"], "--points"),
        (
            ["create-offer", "--programme", "p", "--name", "n", "--points", "5",
             "--valid-until", "2027-01-01T00:00:00"],
            "has no time zone",
        ),
    ],
)  # fmt: skip
def test_a_usage_mistake_is_one_line(args: list[str], fragment: str) -> None:
    assert_refused(invoke(*args), fragment, "--help")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "absent.yaml"
    assert_refused(invoke("load-programme", str(missing)), str(missing), "No such file")
    assert_refused(invoke("load-myrewards", str(missing)), str(missing), "No such file")


def test_a_file_that_is_not_yaml_is_named_with_the_place(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("programme_id: demo\nrules: [\n")
    assert_refused(invoke("load-programme", str(broken)), str(broken), "not YAML", "line 3")


def test_an_invalid_programme_names_each_field(tmp_path: Path) -> None:
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text(
        "programme_id: demo\nversion: 0\nevent_types: [{name: a}]\n"
        "rules: [{rule_id: r, version: 1, event_type: b, points: 5}]\n"
    )
    assert_refused(
        invoke("load-programme", str(invalid)),
        str(invalid),
        "version: Input should be greater than or equal to 1",
    )
    invalid.write_text("programme_id: demo\nversion: 1\nrules: [{rule_id: r, version: 1}]\n")
    assert_refused(invoke("load-programme", str(invalid)), "rules[0].event_type: Field required")


def test_an_invalid_myrewards_file_names_the_field(tmp_path: Path) -> None:
    invalid = tmp_path / "myrewards.yaml"
    invalid.write_text("programme_id: demo\nidentifier: phone\n")
    assert_refused(invoke("load-myrewards", str(invalid)), str(invalid), "identifier:")


@pytest.mark.parametrize(
    "args",
    [
        ["create-key", "--programme", "demo", "--partner", "p"],
        ["create-client", "--programme", "demo", "--client-id", "c"],
        ["republish"],
        ["check-ledger"],
        ["set-tier", "--programme", "demo", "--user", "u", "--tier", "Silver"],
        ["create-offer", "--programme", "demo", "--name", "n", "--points", "5"],
        ["seed-demo"],
    ],
)
def test_an_unreachable_database_is_one_line_without_the_password(args: list[str]) -> None:
    result = invoke(*args)
    assert_refused(result, "database 127.0.0.1:1/loyalty unreachable")
    assert "secret-password" not in result.output


def test_an_unreachable_kafka_is_one_line() -> None:
    assert_refused(invoke("create-topics"), "Kafka at 127.0.0.1:1 unreachable")


def test_debug_shows_the_traceback_and_still_the_line() -> None:
    for args, env in (
        (["--debug", "republish"], {}),
        (["republish"], {"LOYALTY_ADMIN_DEBUG": "1"}),
    ):
        result = invoke(*args, env=env)
        assert result.exit_code == refusals.REFUSED
        assert "Traceback" in result.stderr
        assert result.stderr.splitlines()[-1].startswith("error: database 127.0.0.1:1/")


def test_a_bug_is_not_a_refusal() -> None:
    """An exception the admin layer does not raise for a user's mistake keeps its traceback."""
    assert refusals.refusal_line(RuntimeError("bug")) is None
    assert refusals.refusal_line(KeyError("bug")) is None


def test_the_database_is_named_without_credentials() -> None:
    assert server_of("postgresql://u:p@db.internal:6432/loyalty") == "db.internal:6432/loyalty"
    assert server_of("postgresql:///loyalty") == "localhost:5432/loyalty"


def test_the_evidence_commands_name_a_missing_candidate_and_refuse_a_bad_window(
    tmp_path: Path,
) -> None:
    """backtest, rebase and shadow take one `--candidate`, `--from` and `--to`, parsed alike
    (gateway.admin.options), before any server is asked."""
    missing = tmp_path / "absent.yaml"
    window = ["--from", "2026-05-01", "--to", "2026-06-01"]
    for args in (["backtest"], ["rebase", *window], ["shadow", "start"]):
        result = invoke(*args, "--programme", "demo", "--candidate", str(missing))
        assert_refused(result, str(missing), "No such file")
    demo = str(Path(__file__).parents[3] / "deploy" / "programmes" / "demo.yaml")
    candidate = ["--programme", "demo", "--candidate", demo]
    for args, fragment in (
        (["backtest", *candidate, "--from", "yesterday"], "--from: 'yesterday' is not an ISO 8601"),
        (["rebase", *candidate, "--from", "2026-05-01", "--to", "soon"], "--to: 'soon' is not"),
        (["shadow", "report", "--run", "3", "--to", "soon"], "--to: 'soon' is not an ISO 8601"),
    ):
        assert_refused(invoke(*args), fragment)

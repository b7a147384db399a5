"""The webhooks process's wiring: its settings (the retry policy's variables keep their names, a
lease must outlast an attempt), its console script, and the gateway no longer dispatching."""

import tomllib
from importlib import import_module
from pathlib import Path

import pytest
from pydantic import ValidationError

from deploy.local import services
from deploy.local.settings import LocalSettings
from gateway.settings import GatewaySettings
from gateway.webhooks import __main__ as webhooks_main
from gateway.webhooks.policy import DeliveryPolicy
from gateway.webhooks.settings import WebhookSettings

REPO = Path(__file__).resolve().parents[3]


def test_the_policy_comes_from_the_variables_the_gateway_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOYALTY_WEBHOOK_ATTEMPTS_MAX", "3")
    monkeypatch.setenv("LOYALTY_WEBHOOK_BACKOFF_FIRST_S", "0.5")
    monkeypatch.setenv("LOYALTY_WEBHOOK_BACKOFF_MAX_S", "60")
    monkeypatch.setenv("LOYALTY_WEBHOOK_TIMEOUT_S", "2")
    monkeypatch.setenv("LOYALTY_METRICS_PORT", "19999")
    settings = WebhookSettings()
    assert settings.policy() == DeliveryPolicy(3, 0.5, 60.0, 2.0)
    assert settings.metrics_port == 19999


def test_defaults() -> None:
    settings = WebhookSettings()
    assert (settings.metrics_port, settings.webhook_batch_max) == (9104, 100)
    assert settings.policy() == DeliveryPolicy()
    assert settings.webhook_lease_s >= settings.webhook_timeout_s + 5


def test_a_lease_shorter_than_an_attempt_and_its_margin_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"webhook_lease_s \(30\) must be at least"):
        WebhookSettings(webhook_timeout_s=30, webhook_lease_s=30)
    assert WebhookSettings(webhook_timeout_s=30, webhook_lease_s=35).webhook_lease_s == 35


def test_the_console_script_is_the_process_entry_point() -> None:
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    module, function = scripts["loyalty-webhooks"].split(":")
    assert module == "gateway.webhooks.__main__"
    assert callable(getattr(import_module(module), function))


def test_the_local_runner_starts_it_on_its_own_metrics_port() -> None:
    settings = LocalSettings(webhooks_metrics_port=19104)
    assert "webhooks" in services.SERVICES
    assert services.command("webhooks")[1:] == ["-m", "gateway.webhooks"]
    environment = services.environment(settings, "webhooks", "some_database")
    assert environment["LOYALTY_METRICS_PORT"] == "19104"
    assert environment["LOYALTY_DATABASE_URL"].endswith("/some_database")


def test_the_gateway_no_longer_dispatches() -> None:
    assert not [field for field in GatewaySettings.model_fields if "webhook" in field]


def test_invalid_settings_stop_the_process_with_one_line_and_status_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOYALTY_WEBHOOK_BATCH_MAX", "0")
    monkeypatch.setenv("LOYALTY_WEBHOOK_LEASE_S", "6")
    with pytest.raises(SystemExit) as stopped:
        webhooks_main.main()
    assert stopped.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("loyalty-webhooks: LOYALTY_WEBHOOK_BATCH_MAX: Input should be")

"""`./dev status` lists every process `./dev up` starts, the webhooks process and Prometheus
among them."""

import pytest

from deploy.local import __main__ as local
from deploy.local import prometheus, services


def test_status_lists_every_service(capsys: pytest.CaptureFixture[str]) -> None:
    local.status()
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert set(services.SERVICES) <= set(listed)
    assert "webhooks" in listed
    assert "scheduler" in listed
    assert "console" in listed
    assert prometheus.NAME in listed

"""Requests generated from the published OpenAPI document (schemathesis): none gets a 5xx, and
none that breaks the document's constraints is accepted."""

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.case import Case
from schemathesis.specs.openapi.checks import negative_data_rejection, status_code_conformance

from deploy.local.settings import LocalSettings
from tests.e2e.conftest import Credentials

pytestmark = pytest.mark.e2e


@pytest.fixture
def api_schema(system: tuple[LocalSettings, Credentials]) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"http://127.0.0.1:{system[0].gateway_port}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_generated_requests(case: Case[Any], system: tuple[LocalSettings, Credentials]) -> None:
    settings_, credentials = system
    case.call_and_validate(
        base_url=f"http://127.0.0.1:{settings_.gateway_port}",
        headers={"X-API-Key": credentials.partner},
        checks=[not_a_server_error, negative_data_rejection, status_code_conformance],
    )

"""A partner's rate limit is the partner's, not each gateway instance's: two real gateway
instances on the same Postgres and Kafka, a partner allowed 3 events a minute calling them in
turn; between them they admit 3, and past that both answer 429 until the same window's end."""

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from deploy.local import processes, services
from deploy.local.settings import LocalSettings
from tests.e2e.conftest import DATABASE, PREFIX, Credentials, new_user

pytestmark = pytest.mark.e2e
SECOND = f"{PREFIX}gateway-2"
LIMIT = 3  # shared-limit-partner's rate_limit_per_minute (tests/e2e/programmes/e2e.yaml)


@pytest.fixture(scope="module")
def second_gateway_port(
    system: tuple[LocalSettings, Credentials], service_env: dict[str, str]
) -> Iterator[int]:
    settings = system[0]
    port = settings.gateway_port + 2
    services.start_gateway(settings, SECOND, port, DATABASE, service_env)
    try:
        services.wait_for(port, SECOND)
        yield port
    finally:
        processes.stop(SECOND)


@pytest.fixture
async def both(
    system: tuple[LocalSettings, Credentials], second_gateway_port: int
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    async with (
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{system[0].gateway_port}", timeout=30) as a,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{second_gateway_port}", timeout=30) as b,
    ):
        yield a, b


async def test_two_instances_admit_the_partners_limit_between_them(
    both: tuple[httpx.AsyncClient, httpx.AsyncClient], credentials: Credentials
) -> None:
    headers = {"X-API-Key": credentials.shared_limit_partner}
    answers: list[tuple[int, httpx.Response]] = []
    for index in range(2 * LIMIT + 2):
        instance = index % 2
        body = {"user_id": new_user(), "event_type": "article_read"}
        answers.append(
            (instance, await both[instance].post("/api/partner/events", json=body, headers=headers))
        )
    statuses = [response.status_code for _, response in answers]
    assert statuses == [200] * LIMIT + [429] * (LIMIT + 2), [r.text for _, r in answers]
    # The requests alternate, so both instances admitted some and both refuse: 3 in all.
    assert all(response.json()["points_awarded"] == 5 for _, response in answers[:LIMIT])
    refused = answers[LIMIT:]
    retry_after = [int(response.headers["Retry-After"]) for _, response in refused]
    assert all(response.json()["error"] == "rate_limit_exceeded" for _, response in refused)
    # Both count down to the end of the one window the first request opened.
    assert all(1 <= seconds <= 60 for seconds in retry_after)
    assert max(retry_after) - min(retry_after) <= 2

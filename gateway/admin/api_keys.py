"""Partner API keys from the CLI's side: the environment a credential must match, and issuing a
key with only a pool (the service layer, `gateway.admin.service.api_keys`, does the work)."""

from collections.abc import Sequence

import asyncpg

from gateway.admin.programmes import UnknownProgramme
from gateway.admin.service import api_keys as service_api_keys
from gateway.admin.service.actors import Actor
from gateway.admin.service.backend import Backend
from gateway.keys import Environment, IssuedKey
from schemas.programme import ProgrammeConfig


async def create(
    pool: asyncpg.Pool,
    programme_id: str,
    partner_id: str,
    environment: Environment,
    key_id: str | None = None,
    secret: str | None = None,
) -> IssuedKey:
    """A partner's key, issued by the service layer as `loyalty-admin create-key` issues it
    (audited as the CLI), for callers that hold only a pool (tests, benchmarks)."""
    backend = Backend(pool, _NoSnapshots())
    return await service_api_keys.issue(
        backend, Actor.cli(), programme_id, partner_id, environment, key_id=key_id, secret=secret
    )


class _NoSnapshots:
    """Issuing a key changes no configuration, so it never publishes a snapshot."""

    async def publish(self, configs: Sequence[ProgrammeConfig]) -> None:
        raise AssertionError("issuing a key published a snapshot")


class EnvironmentMismatch(Exception):
    """A staging credential for a production programme, or the reverse."""


async def require_environment(pool: asyncpg.Pool, programme_id: str, environment: str) -> None:
    stored = await pool.fetchval(
        "SELECT environment FROM programmes WHERE programme_id = $1", programme_id
    )
    if stored is None:
        raise UnknownProgramme(programme_id)
    if stored != environment:
        raise EnvironmentMismatch(
            f"programme {programme_id} is {stored}; a {environment} credential cannot reach it"
        )

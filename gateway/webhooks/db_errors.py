"""What the webhooks process takes for Postgres being away for a moment: the deliveries stay
pending and are tried again, the process goes on."""

import asyncpg
from asyncpg.exceptions import InternalClientError

# InternalClientError: asyncpg's "another operation is in progress" on a connection whose server
# died under it (the chaos run, issue 19, saw it end the process when Postgres was killed).
DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    InternalClientError,
)

"""The outbox trigger's NOTIFY (deploy/migrations/0020_webhooks.sql), heard on a connection of
its own: LISTEN is session state, which a pooled connection would lose or keep from the pool.
A lost connection is opened again the next time the dispatcher claims; meanwhile its poll finds
the due deliveries."""

import asyncio
import contextlib
import logging

import asyncpg

from gateway.webhooks.db_errors import DATABASE_ERRORS

log = logging.getLogger(__name__)

CHANNEL = "webhook_deliveries"


class Wakeups:
    def __init__(self, database_url: str, server_settings: dict[str, str] | None = None) -> None:
        self._database_url = database_url
        self._server_settings = server_settings
        self._connection: asyncpg.Connection | None = None
        self.event = asyncio.Event()

    async def listen(self) -> None:
        """Listens unless it already does; a failure is logged and tried again next time."""
        if self._connection is not None and not self._connection.is_closed():
            return
        await self.close()
        try:
            self._connection = await asyncpg.connect(
                self._database_url, server_settings=self._server_settings
            )
            await self._connection.add_listener(CHANNEL, self._notified)
        except DATABASE_ERRORS as exc:
            log.warning("not listening for webhooks (polling meanwhile): %s", exc)
            await self.close()
        # Notifications missed while not listening need nothing: the claim that follows looks.

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            with contextlib.suppress(OSError, asyncpg.InterfaceError, asyncpg.PostgresError):
                await connection.close(timeout=5)

    def _notified(self, *_: object) -> None:
        self.event.set()

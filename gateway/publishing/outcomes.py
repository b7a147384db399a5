"""Waiting for an event's outcome: the ledger writer NOTIFYs the outcomes of a batch when it
commits (`ledger.notifications`), and every gateway instance LISTENs, so the reply reaches
whichever instance waits.

A request registers its wait before publishing, so a notification can never slip in between.
A notification carries the outcomes themselves; the few it names by id alone (too large for a
payload) are read in one query for all the requests waiting here, not one query per request."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg

from gateway.errors import Unavailable
from schemas.ledger import CommandOutcome
from schemas.notifications import NOTIFY_CHANNEL, outcome_of, read_notification

log = logging.getLogger(__name__)
RECONNECT_ATTEMPTS_MAX = 30
RECONNECT_BACKOFF_S = 1.0
FETCH_IDS_MAX = 1_000

# The stored outcomes of the given command ids, in one query (ledger.reads.get_outcomes).
OutcomesReader = Callable[[list[str]], Awaitable[dict[str, CommandOutcome]]]


class OutcomeNotifications:
    def __init__(self, database_url: str, waiting_max: int, read: OutcomesReader) -> None:
        self._database_url = database_url
        self._waiting_max = waiting_max
        self._read = read
        self._waiting: dict[str, list[asyncio.Future[CommandOutcome | None]]] = {}
        self._waiting_count = 0
        self._notified_ids: dict[str, None] = {}  # insertion-ordered set
        self._reading: asyncio.Task[None] | None = None
        self._connection: asyncpg.Connection | None = None
        self._reconnecting: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        return self._waiting_count

    @property
    def listening(self) -> bool:
        """False while the LISTEN connection is away, when notifications may have been missed."""
        return self._connection is not None and not self._connection.is_closed()

    async def start(self) -> None:
        connection = await asyncpg.connect(self._database_url)
        try:
            await connection.add_listener(NOTIFY_CHANNEL, self.notified)
        except BaseException:
            connection.terminate()
            raise
        connection.add_termination_listener(self._lost)
        self._connection = connection

    async def stop(self) -> None:
        for task in (self._reconnecting, self._reading):
            if task is not None:
                task.cancel()
        connection = self._connection
        if connection is not None and not connection.is_closed():
            # asyncpg calls the termination listeners on a close too: the listener reconnected a
            # second after every stop, leaving a connection nobody closed.
            connection.remove_termination_listener(self._lost)
            await connection.close()

    @contextlib.asynccontextmanager
    async def expect(self, command_id: str) -> AsyncIterator[asyncio.Future[CommandOutcome | None]]:
        """A future that completes when `command_id`'s outcome is committed: with the outcome,
        or with None when it could not be read."""
        if self._waiting_count >= self._waiting_max:
            raise Unavailable("too many requests are waiting for outcomes; retry shortly")
        future: asyncio.Future[CommandOutcome | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(command_id, []).append(future)
        self._waiting_count += 1
        try:
            yield future
        finally:
            self._waiting_count -= 1
            futures = self._waiting.get(command_id, [])
            if future in futures:
                futures.remove(future)
            if not futures:
                self._waiting.pop(command_id, None)

    def notified(self, _connection: Any, _pid: int, _channel: str, payload: object) -> None:
        # Other instances' commands are notified too; only the ones waited for here count.
        if not self._waiting:
            return
        try:
            notified = read_notification(str(payload))
        except ValueError:
            log.warning("ignored a malformed %s notification: %.100r", NOTIFY_CHANNEL, payload)
            return
        for command_id, columns in notified:
            if command_id not in self._waiting:
                continue
            outcome = None if columns is None else _outcome(columns)
            if outcome is None:
                self._notified_ids[command_id] = None
            else:
                self._answer(command_id, outcome)
        if self._notified_ids and (self._reading is None or self._reading.done()):
            self._reading = asyncio.get_running_loop().create_task(self._read_notified())

    def _answer(self, command_id: str, outcome: CommandOutcome | None) -> None:
        for future in self._waiting.pop(command_id, []):
            if not future.done():
                future.set_result(outcome)

    async def _read_notified(self) -> None:
        """Reads the notified outcomes in rounds of at most FETCH_IDS_MAX ids: the ids notified
        while one round reads make up the next."""
        while self._notified_ids:
            command_ids = list(self._notified_ids)[:FETCH_IDS_MAX]
            for command_id in command_ids:
                del self._notified_ids[command_id]
            try:
                outcomes = await self._read(command_ids)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                # The waiting requests look their outcome up one by one.
                log.warning("could not read %d notified outcomes", len(command_ids), exc_info=True)
                outcomes = {}
            for command_id in command_ids:
                self._answer(command_id, outcomes.get(command_id))

    def _lost(self, _connection: Any) -> None:
        # Waiting requests fall back to their deadline (202 pending) while the listener is away.
        log.warning("lost the LISTEN connection for %s; reconnecting", NOTIFY_CHANNEL)
        self._reconnecting = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        for _ in range(RECONNECT_ATTEMPTS_MAX):
            await asyncio.sleep(RECONNECT_BACKOFF_S)
            try:
                await self.start()
                return
            except (OSError, asyncpg.PostgresError):
                continue
        log.error("gave up reconnecting the LISTEN connection; answers will be 202 pending")


def _outcome(columns: dict[str, Any]) -> CommandOutcome | None:
    """None for columns that do not make an outcome (the waiting request reads it instead)."""
    try:
        return outcome_of(columns)
    except (KeyError, ValueError, TypeError):
        log.warning("could not read a notified outcome: %.100r", columns)
        return None

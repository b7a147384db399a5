"""In-memory fakes of the publish-and-answer path's ports (`gateway.publishing.ports`): a Kafka
that an in-memory ledger answers, the outcome waits, the stored outcomes; and the services that
wire them, as `gateway.app` wires the real ones."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

from gateway.dependencies import Services
from gateway.rate_limits import PartnerRateLimits, Reservation
from gateway.settings import GatewaySettings
from runtime.config_feed import ProgrammeConfigs
from schemas.events import EventV1
from schemas.ledger import CommandOutcome, LedgerCommand
from schemas.programme import ProgrammeConfig

Ledger = Callable[[str, EventV1 | LedgerCommand], CommandOutcome | None]
"""What the fake ledger books for a published record (None: no answer in time)."""


class FakeWaits:
    listening = True

    def __init__(self) -> None:
        self.waiting: dict[str, list[asyncio.Future[CommandOutcome | None]]] = {}

    @contextlib.asynccontextmanager
    async def expect(self, command_id: str) -> AsyncIterator[asyncio.Future[CommandOutcome | None]]:
        future: asyncio.Future[CommandOutcome | None] = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(command_id, []).append(future)
        try:
            yield future
        finally:
            self.waiting[command_id].remove(future)

    def notify(self, outcome: CommandOutcome) -> None:
        for future in self.waiting.get(outcome.command_id, []):
            if not future.done():
                future.set_result(outcome)


class FakeStored:
    def __init__(self) -> None:
        self.outcomes: dict[str, CommandOutcome] = {}

    async def get(self, command_id: str, programme_id: str | None) -> CommandOutcome | None:
        return self.outcomes.get(command_id)


class FakeKafka:
    """Publishing hands the record to `ledger`; its outcome is stored and notified at once."""

    def __init__(self, ledger: Ledger, stored: FakeStored, waits: FakeWaits) -> None:
        self.ledger = ledger
        self.stored = stored
        self.waits = waits
        self.published: list[EventV1 | LedgerCommand] = []

    async def publish(self, event: EventV1) -> None:
        self._book(event.event_id, event)

    async def publish_command(self, command: LedgerCommand, retry: str) -> None:
        self._book(command.command_id, command)

    def _book(self, command_id: str, record: EventV1 | LedgerCommand) -> None:
        self.published.append(record)
        outcome = self.ledger(command_id, record)
        if outcome is not None:
            self.stored.outcomes.setdefault(command_id, outcome)
            self.waits.notify(self.stored.outcomes[command_id])


class FakeRateWindows:
    """The store's windows in memory, as reserve_partner_rate keeps them in Postgres (the real
    one is tested in tests/integration/gateway/test_rate_windows.py), on the clock `now`."""

    def __init__(self, now: Callable[[], float] = lambda: 0.0) -> None:
        self.now = now
        self.windows: dict[tuple[str, str], tuple[float, int]] = {}  # (ends at, granted)
        self.reservations = 0

    async def reserve(
        self, programme_id: str, partner_id: str, limit: int, wanted: int, window_s: float
    ) -> Reservation:
        self.reservations += 1
        await asyncio.sleep(0)  # a round trip: other requests run meanwhile
        now = self.now()
        ends_at, taken = self.windows.get((programme_id, partner_id), (now, 0))
        if ends_at <= now:
            ends_at, taken = now + window_s, 0
        left_over = max(0, limit - taken)
        slots = min(wanted, left_over, max(1, left_over // 4))
        self.windows[programme_id, partner_id] = (ends_at, taken + slots)
        return Reservation(slots, ends_at - now)


def services(ledger: Ledger, *configs: ProgrammeConfig, wait_ms: int = 200) -> Services:
    waits, stored = FakeWaits(), FakeStored()
    catalog = ProgrammeConfigs()
    for config in configs:
        catalog.apply(config.model_dump_json().encode())
    settings = GatewaySettings(outcome_wait_ms=wait_ms)
    no_pool: Any = None  # the path under test reads nothing but the ports
    return Services(
        settings,
        no_pool,
        cast(Any, None),
        FakeKafka(ledger, stored, waits),
        catalog,
        waits,
        PartnerRateLimits(FakeRateWindows()),
        stored,
    )


def published(services_: Services) -> list[EventV1 | LedgerCommand]:
    return cast(FakeKafka, services_.publisher).published

"""Book a file's rows through the ledger writer and learn what became of each: the engine of
`loyalty-admin import-balances` and `import-events --as-given`.

Rows come in windows. For each window, the idempotency keys its rows book are looked up first
(`LedgerPort.booked`): a row booked already with the same payload is reported as already booked
and left out; one whose key was booked with another payload is refused. The other rows are
grouped into ledger commands (`ImportPlan.command`: up to 1,000 rows each, all or nothing),
published to `ledger-commands.v1`, and their outcomes read back (`LedgerPort.outcomes`, through
`ledger.reads`). So an import run again books nothing more, and a command carries only rows new
to the ledger: its outcome's points are its own entries'.

A command the ledger refuses as a whole is split in two and each half published as a command of
its own, until each refused row stands alone with the ledger's reason (at most ten halvings for
1,000 rows): a bad row never holds back the others, and no row is half-booked. A command whose
id the ledger holds an outcome for already (a run interrupted, or the same file again) is not
published again: a stored booking is its answer. A stored refusal is final where the plan says
so (`ImportPlan.retry` None: an event's outcome); otherwise the rows are published again under
a new command id, so that fixing the cause (funding a budget) and importing again books them.
The rows' keys still guard against booking twice.

Bounded: a window holds at most `WINDOW_ROWS` rows, at most `IN_FLIGHT_ROWS_MAX` rows (and
`IN_FLIGHT_COMMANDS_MAX` commands) wait for their outcomes at a time (reading the file waits for
the ledger), and when no outcome arrives
for `wait_s` seconds while some are awaited, the import stops with `LedgerSilent`.
"""

import asyncio
import itertools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, Generic, Protocol, TypeVar

from gateway.admin.import_rows import Command, Refusal, Skipped
from schemas.ledger import CommandOutcome, OutcomeStatus, RejectionReason

WINDOW_ROWS: Final = 5_000
IN_FLIGHT_ROWS_MAX: Final = 20_000
"""Also what bounds the writer's batches of this import: a batch of many more bookings keeps its
event loop busy for seconds, long enough to miss Kafka heartbeats."""
IN_FLIGHT_COMMANDS_MAX: Final = 5_000
OUTCOME_IDS_PER_QUERY: Final = 1_000
"""Each poll reads the outcomes of the oldest commands awaited, at most this many: outcomes come
about in the order commands were published."""
POLL_INTERVAL_S: Final = 0.05
POLL_INTERVAL_MAX_S: Final = 0.5
WAIT_S_DEFAULT: Final = 120.0
YIELD_EVERY_ROWS: Final = 256
# A refusal about the command as a whole, not about one of its rows: splitting cannot help.
_WHOLE_COMMAND_REASONS: Final = frozenset({RejectionReason.UNKNOWN_PROGRAMME})


class ImportRow(Protocol):
    @property
    def line(self) -> int: ...
    @property
    def key(self) -> str: ...
    @property
    def points(self) -> int: ...


Row = TypeVar("Row", bound=ImportRow)


class ImportPlan(Protocol[Row]):
    """What one kind of import decides: which rows go into one command (at most 1,000, and few
    enough bytes for a Kafka record), the command of some rows, and each row's booking digest
    (as the ledger stores it)."""

    rows_per_command: int
    """The most rows `groups` puts in one command."""

    def groups(self, rows: Sequence[Row]) -> list[Sequence[Row]]: ...
    def command(self, rows: Sequence[Row]) -> Command: ...
    def digest(self, row: Row) -> bytes: ...
    def conflict(self, row: Row) -> str:
        """Why a row whose key is booked with another payload is refused."""
        ...

    def command_digest(self, command: Command) -> bytes:
        """As the ledger stores it with the command's outcome (`reads.command_digest`)."""
        ...

    def command_conflict(self, command_id: str) -> str:
        """Why the rows of a command are refused whose id has an outcome of another payload."""
        ...

    def retry(self, rows: Sequence[Row]) -> Command | None:
        """The rows' command again under an id of its own, to publish when the ledger refused
        the command once (a budget since topped up); None: its refusal is final."""
        ...


class LedgerPort(Protocol):
    async def booked(self, keys: Sequence[str]) -> dict[str, bytes]:
        """The stored payload digest of each key booked already."""
        ...

    async def outcomes(self, command_ids: Sequence[str]) -> dict[str, CommandOutcome]:
        """The stored outcome of each command the ledger has recorded."""
        ...

    async def stored(self, command_ids: Sequence[str]) -> dict[str, tuple[bytes, CommandOutcome]]:
        """The stored outcomes, each with the payload digest it was recorded for."""
        ...

    async def publish(self, commands: Sequence[Command]) -> None:
        """To ledger-commands.v1, acknowledged by every replica (acks=all)."""
        ...


class Reporter(Protocol):
    def refused(self, line: int, reason: str) -> None: ...
    def settled(self, rows: int) -> None:
        """`rows` more have their final result (the progress bar)."""
        ...


class LedgerSilent(Exception):
    """No outcome arrived for too long while some were awaited."""


@dataclass
class ImportCounts:
    booked: int = 0
    booked_points: int = 0
    already_booked: int = 0
    refused: int = 0
    skipped: int = 0
    commands: int = 0
    """Commands published (halves of refused ones among them)."""

    @property
    def rows(self) -> int:
        return self.booked + self.already_booked + self.refused + self.skipped


@dataclass
class _InFlight(Generic[Row]):
    command: Command
    rows: Sequence[Row]


@dataclass
class _Waiting(Generic[Row]):
    by_id: dict[str, _InFlight[Row]] = field(default_factory=dict)
    rows: int = 0

    def add(self, flight: _InFlight[Row]) -> None:
        self.by_id[flight.command.command_id] = flight
        self.rows += len(flight.rows)

    def pop(self, command_id: str) -> _InFlight[Row]:
        flight = self.by_id.pop(command_id)
        self.rows -= len(flight.rows)
        return flight


class BookingImport(Generic[Row]):
    def __init__(
        self,
        ledger: LedgerPort,
        plan: ImportPlan[Row],
        reporter: Reporter,
        *,
        wait_s: float = WAIT_S_DEFAULT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ledger = ledger
        self._plan = plan
        self._reporter = reporter
        self._wait_s = wait_s
        self._clock = clock
        self._waiting: _Waiting[Row] = _Waiting()
        self._last_answer = clock()
        self._next_poll = 0.0
        self._poll_interval = POLL_INTERVAL_S
        self.counts = ImportCounts()

    async def run(self, rows: Iterable[Row | Refusal | Skipped]) -> ImportCounts:
        window: list[Row] = []
        for index, row in enumerate(rows):
            if isinstance(row, Refusal):
                self._refuse(row.line, row.reason)
            elif isinstance(row, Skipped):
                self.counts.skipped += 1
                self._reporter.settled(1)
            else:
                window.append(row)
                if len(window) >= WINDOW_ROWS:
                    await self._submit(window)
                    window = []
            if index % YIELD_EVERY_ROWS == 0:
                await self._poll_if_due()
        if window:
            await self._submit(window)
        while self._waiting.by_id:
            await self._poll(wait=True)
        return self.counts

    async def _submit(self, window: Sequence[Row]) -> None:
        """Leave out the rows booked already, then publish the others' commands."""
        commands = -(-len(window) // self._plan.rows_per_command)
        while self._waiting.by_id and (
            self._waiting.rows + len(window) > IN_FLIGHT_ROWS_MAX
            or len(self._waiting.by_id) + commands > IN_FLIGHT_COMMANDS_MAX
        ):
            await self._poll(wait=True)
        booked = await self._ledger.booked([row.key for row in window])
        new: list[Row] = []
        for row in window:
            digest = booked.get(row.key)
            if digest is None:
                new.append(row)
            elif digest == self._plan.digest(row):
                self.counts.already_booked += 1
                self._reporter.settled(1)
            else:
                self._refuse(row.line, self._plan.conflict(row))
        await self._send(self._plan.groups(new))

    async def _send(self, groups: Sequence[Sequence[Row]]) -> None:
        """Publish each group's command, unless the ledger holds its id's outcome already: then
        that is its answer (or, recorded for another payload, its rows' refusal)."""
        flights = [_InFlight(self._plan.command(rows), rows) for rows in groups if rows]
        if not flights:
            return
        stored = await self._stored([flight.command.command_id for flight in flights])
        fresh = [flight for flight in flights if flight.command.command_id not in stored]
        for flight in fresh:
            self._waiting.add(flight)
        if fresh:
            await self._ledger.publish([flight.command for flight in fresh])
            self.counts.commands += len(fresh)
            self._last_answer = max(self._last_answer, self._clock())
        retried: list[_InFlight[Row]] = []
        for flight in flights:
            found = stored.get(flight.command.command_id)
            if found is None:
                continue
            digest, outcome = found
            if digest != self._plan.command_digest(flight.command):
                for row in flight.rows:
                    self._refuse(row.line, self._plan.command_conflict(flight.command.command_id))
                continue
            retry = None if _booked(outcome) else self._plan.retry(flight.rows)
            if retry is None:
                await self._settle(flight, outcome)
            else:
                retried.append(_InFlight(retry, flight.rows))
        if retried:
            for flight in retried:
                self._waiting.add(flight)
            await self._ledger.publish([flight.command for flight in retried])
            self.counts.commands += len(retried)
            self._last_answer = max(self._last_answer, self._clock())

    async def _poll_if_due(self) -> None:
        if self._waiting.by_id and self._clock() >= self._next_poll:
            await self._poll(wait=False)

    async def _poll(self, *, wait: bool) -> None:
        """Read the outcomes of the commands awaited; with `wait`, until at least one came."""
        while True:
            if wait:
                await asyncio.sleep(max(0.0, self._next_poll - self._clock()))
            oldest = list(itertools.islice(self._waiting.by_id, OUTCOME_IDS_PER_QUERY))
            found = await self._ledger.outcomes(oldest)
            now = self._clock()
            # Back off while nothing comes (a long queue ahead in the writer), not otherwise.
            self._poll_interval = (
                POLL_INTERVAL_S if found else min(self._poll_interval * 2, POLL_INTERVAL_MAX_S)
            )
            self._next_poll = now + self._poll_interval
            if found:
                self._last_answer = now
                for command_id, outcome in found.items():
                    await self._settle(self._waiting.pop(command_id), outcome)
                return
            if now - self._last_answer > self._wait_s:
                raise LedgerSilent(
                    f"no outcome from the ledger for {self._wait_s:g} s while "
                    f"{self._waiting.rows} rows wait for theirs"
                )
            if not wait:
                return

    async def _stored(self, command_ids: Sequence[str]) -> dict[str, tuple[bytes, CommandOutcome]]:
        found: dict[str, tuple[bytes, CommandOutcome]] = {}
        for start in range(0, len(command_ids), OUTCOME_IDS_PER_QUERY):
            found.update(
                await self._ledger.stored(command_ids[start : start + OUTCOME_IDS_PER_QUERY])
            )
        return found

    async def _settle(self, flight: _InFlight[Row], outcome: CommandOutcome) -> None:
        rows = flight.rows
        if _booked(outcome):
            self.counts.booked += len(rows)
            self.counts.booked_points += sum(row.points for row in rows)
            self._reporter.settled(len(rows))
        elif len(rows) == 1 or outcome.reason_code in _WHOLE_COMMAND_REASONS:
            for row in rows:
                self._refuse(row.line, _reason(outcome))
        else:
            half = len(rows) // 2
            await self._send([rows[:half], rows[half:]])

    def _refuse(self, line: int, reason: str) -> None:
        self.counts.refused += 1
        self._reporter.refused(line, reason)
        self._reporter.settled(1)


def _booked(outcome: CommandOutcome) -> bool:
    return (outcome.original_status or outcome.status) is OutcomeStatus.BOOKED


def _reason(outcome: CommandOutcome) -> str:
    code = "refused" if outcome.reason_code is None else str(outcome.reason_code)
    return f"{code}: {outcome.reason or 'refused by the ledger'}"

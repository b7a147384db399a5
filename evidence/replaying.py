"""Feeding a programme's archived events to a `Replay` from one connection, in decision order or
user by user (`replay_share`): the programme's versions as it compiled them, the archive's rows
decoded into events. Used by the backtest's processes alike, each for a share of the users
(`evidence.shares`), and by the re-base's single replay (in decision order)."""

import gc
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from operator import itemgetter
from typing import Final

from evidence.core.alike import AlikeTypes
from evidence.core.replay import CandidateDecided, Replay
from ledger import reads
from processors.engine import CompiledProgramme, compile_programme
from schemas.events import EventV1
from schemas.programme import ProgrammeConfig

Progress = Callable[[int], None]
"""Told how many more events were replayed."""
PROGRESS_ROWS: Final = 20_000
"""Rows of a group (`replay_share`) fed between two reports of progress."""


class Versions:
    """The programme's stored versions, each compiled when first needed."""

    def __init__(self, configs: dict[int, ProgrammeConfig], latest: int) -> None:
        self._configs = configs
        self._compiled: dict[int | None, CompiledProgramme] = {}
        self._by_number: dict[int, CompiledProgramme] = {}
        self._latest = latest

    def __contains__(self, version: object) -> bool:
        """A version stored when these were read (a shadow run reads them again for a newer)."""
        return version in self._configs

    def __call__(self, version: int | None) -> CompiledProgramme:
        compiled = self._compiled.get(version)  # by the version as archived: one lookup a call
        if compiled is None:
            wanted = self._wanted(version)
            compiled = self._by_number.get(wanted)
            if compiled is None:
                compiled = self._by_number[wanted] = compile_programme(self._configs[wanted])
            self._compiled[version] = compiled
        return compiled

    def config_of(self, version: int | None) -> ProgrammeConfig:
        return self._configs[self._wanted(version)]

    def _wanted(self, version: int | None) -> int:
        """The version an archived event names; the latest for one not stored (or none)."""
        return self._latest if version is None or version not in self._configs else version

    @property
    def configs(self) -> dict[int, ProgrammeConfig]:
        return dict(self._configs)


def replay_of(
    versions: Versions,
    candidate: ProgrammeConfig,
    since: datetime | None,
    candidate_decided: CandidateDecided | None = None,
) -> Replay:
    """A replay of the stored versions against `candidate` from `since`; each event the
    candidate decides as its version did is decided once (`evidence.core.alike`)."""
    alike = AlikeTypes(versions.config_of, candidate)
    return Replay(versions, compile_programme(candidate), since, candidate_decided, alike)


@contextmanager
def paused_cycle_collection() -> Iterator[None]:
    """The engine makes no reference cycles (tests/unit/engine/test_no_cycles.py), while the
    collector's walks over every user's state would grow with the users replayed. Around a
    replay's whole life: let go inside, its states are freed by reference counting, not walked
    by the first collection after it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def replay_share(
    conn: reads.Connection,
    programme_id: str,
    replay: Replay,
    until: datetime | None,
    progress: Progress | None = None,
    share: reads.Share = reads.WHOLE,
    group_rows: int = 0,
) -> None:
    """Feeds the programme's archived events up to `until` (of the users of `share`) to
    `replay`, in decision order. Inside `reads.snapshot_read` and, for speed,
    `paused_cycle_collection`.

    `group_rows` > 0: the rows are taken that many at a time, and each group is fed user by
    user, each user's events in decision order (a stable sort by user id). A user's state then
    stays in the processor's caches from one of its events to the next, where in decision order
    20,000 users' states take turns: a third less CPU for the same replay, with the calendar's
    memo of days by hour (bench/RESULTS.md, session 13). Only where a replay may take its
    users' events in any interleaving: while no rule budget runs out (`evidence.shares` checks
    that, and replays in decision order when one did)."""
    # Validated again: pydantic-core reads the JSON faster than orjson and a model_construct
    # would (4 against 6 µs); its validator itself, what `model_validate_json` calls, saves that
    # method's own Python (0.4 of 3.3 µs an event). Decoded just before it is decided, not
    # when its group is read: the event is still in the caches when the engine reads it.
    add, decode = replay.add, EventV1.__pydantic_validator__.validate_json
    rows = reads.archived_events(conn, programme_id, until, share=share)
    async for chunk in rows if group_rows <= 0 else _grouped(rows, group_rows):
        for event, version, points, external, booked, _user in chunk:
            add(decode(event), version, points, external, booked)
        if progress is not None:
            progress(len(chunk))


async def _grouped(
    chunks: AsyncIterator[Sequence[reads.ReplayRow]], group_rows: int
) -> AsyncIterator[Sequence[reads.ReplayRow]]:
    """The rows of `chunks`, in groups of at least `group_rows` (the last may be smaller), each
    sorted by user, stably; handed on in pieces of a chunk's size, for the progress to move."""
    group: list[reads.ReplayRow] = []
    async for chunk in chunks:
        group += chunk
        if len(group) >= group_rows:
            for piece in _by_user(group):
                yield piece
            group = []
    for piece in _by_user(group):
        yield piece


def _by_user(group: list[reads.ReplayRow]) -> Iterator[list[reads.ReplayRow]]:
    group.sort(key=_user_of)
    for start in range(0, len(group), PROGRESS_ROWS):
        yield group[start : start + PROGRESS_ROWS]


# By position: asyncpg's records have no attribute names. An itemgetter, not a function: the
# sort calls it for every row.
_user_of = itemgetter(5)

"""Feeding a programme's archived events to a `Replay`, in decision order, from one connection:
the programme's versions as it compiled them, the archive's rows decoded into events. Used by
the backtest's processes alike, each for a share of the users (`evidence.shares`), and by the
re-base's single replay."""

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from evidence.replay import Replay
from ledger import reads
from processors.engine import CompiledProgramme, compile_programme
from schemas.events import EventV1
from schemas.programme import ProgrammeConfig

Progress = Callable[[int], None]
"""Told how many more events were replayed."""


class Versions:
    """The programme's stored versions, each compiled when first needed."""

    def __init__(self, configs: dict[int, ProgrammeConfig], latest: int) -> None:
        self._configs = configs
        self._compiled: dict[int, CompiledProgramme] = {}
        self._latest = latest

    def __call__(self, version: int | None) -> CompiledProgramme:
        wanted = self._latest if version is None or version not in self._configs else version
        compiled = self._compiled.get(wanted)
        if compiled is None:
            compiled = self._compiled[wanted] = compile_programme(self._configs[wanted])
        return compiled

    @property
    def configs(self) -> dict[int, ProgrammeConfig]:
        return dict(self._configs)


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """The engine makes no reference cycles (tests/unit/engine/test_no_cycles.py), while the
    collector's walks over every user's state would grow with the users replayed."""
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
) -> None:
    """Feeds the programme's archived events up to `until` (of the users of `share`) to
    `replay`, in decision order. Inside `reads.snapshot_read`."""
    add, decode = replay.add, EventV1.model_validate_json
    with _without_cycle_collection():
        async for chunk in reads.archived_events(conn, programme_id, until, share=share):
            for event, version, points, external, booked in chunk:
                # Validated again: pydantic-core reads the JSON faster than orjson and a
                # model_construct would (4 against 6 µs).
                add(decode(event), version, points, external, booked)
            if progress is not None:
                progress(len(chunk))

"""The window of a user's newest applied events, shared between successive states.

A state keeps the newest `size` (32) applied event ids with their decisions, oldest first. Copying
all 32 entries for every decision costs more than the rest of a simple decision once states
are many (each entry touched is a cache miss), so the window is two dicts: `settled`, shared by
every state that descends from the one that built it and never changed, and `recent`, the few
newest entries, copied on each write. Every `recent_max` writes, the window is folded into a new
`settled`. Reads see exactly the newest `size` entries: `settled` may still hold older ones,
which lookups and iteration skip.
"""

from collections.abc import Iterator, Mapping
from itertools import chain, islice
from typing import Final, TypeVar

V = TypeVar("V")

RECENT_MAX: Final = 8
"""Entries copied per write at most; a fold (a copy of the whole window) every 8 writes."""


class AppliedWindow(Mapping[str, V]):
    """Immutable: `with_entry` returns a new window sharing what it can."""

    __slots__ = ("_recent", "_recent_max", "_settled", "_size")

    def __init__(self, size: int, settled: dict[str, V], recent: dict[str, V]) -> None:
        self._size = size
        self._settled = settled
        self._recent = recent
        # Stale entries must all be in `settled`, so `recent` never outgrows the window.
        self._recent_max = min(RECENT_MAX, size)

    @classmethod
    def of(cls, size: int, entries: Mapping[str, V]) -> "AppliedWindow[V]":
        """The newest `size` of `entries` (in their order, oldest first). A plain dict is
        shared, not copied (a window never writes to it): the caller must not change it."""
        if isinstance(entries, AppliedWindow) and entries._size == size:
            return entries
        if type(entries) is dict and len(entries) <= size:
            return cls(size, entries, {})  # shared, never written to: no copy needed
        skip = max(0, len(entries) - size)
        return cls(size, dict(islice(entries.items(), skip, None)), {})

    def with_entry(self, key: str, value: V) -> "AppliedWindow[V]":
        """This window plus `key` (not in it), dropping the oldest entry when full."""
        if len(self._recent) < self._recent_max:
            return AppliedWindow(self._size, self._settled, {**self._recent, key: value})
        newest = list(self.entries())[1 - self._size :] if self._size > 1 else []
        return AppliedWindow(self._size, dict(newest), {key: value})

    def entries(self) -> Iterator[tuple[str, V]]:
        """(key, value) pairs, oldest first; `items()` without a lookup per key."""
        return chain(islice(self._settled.items(), self._stale(), None), self._recent.items())

    def as_dict(self) -> dict[str, V]:
        return dict(self.entries())

    def _stale(self) -> int:
        """How many of the oldest `settled` entries are outside the window."""
        return max(0, len(self._settled) + len(self._recent) - self._size)

    def get(self, key: str, default: V | None = None) -> V | None:  # type: ignore[override]
        # The hot path: a miss (a new event, nearly always) is two dict lookups.
        value = self._recent.get(key)
        if value is not None:
            return value
        value = self._settled.get(key)
        if value is None:
            return default
        stale = self._stale()
        if stale and any(k == key for k in islice(self._settled, stale)):
            return default
        return value

    def __getitem__(self, key: str) -> V:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __iter__(self) -> Iterator[str]:
        return chain(islice(self._settled, self._stale(), None), self._recent)

    def __len__(self) -> int:
        return min(self._size, len(self._settled) + len(self._recent))

    def __repr__(self) -> str:
        return f"AppliedWindow({self.as_dict()!r})"

"""The window of a user's newest applied events, shared between successive states.

A state keeps the newest `size` (32) applied event ids with their decisions, oldest first.
Copying the window for every decision costs more than the rest of a simple decision once states
are many (each entry touched is a cache miss), so successive windows share one append-only log:
a dict `records` and a list `keys` in the same order. A window is the log and its `end`; it
sees `keys[end - size:end]`. Writing to the newest window of a log (its `end` is the log's
length) appends to the log and returns a window with `end + 1`: older windows do not see the new
entry, as it lies past their `end`. Writing to an empty window (shared by every new state), to
any other window (a second decision from the same state), a key already in the log, or a log
that has reached `LOG_MAX` entries starts a new log from the window's own entries: a copy of
`size` entries every `LOG_MAX - size` writes at most.

A miss (a new event, nearly always) is one dict lookup. A hit is checked against the window's
range of `keys`, since the log may hold newer or older entries than the window.

Windows are written by one thread at a time: like a faust table's values, a state is decided on
by the one worker that owns its partition.
"""

from collections.abc import Iterator, Mapping
from typing import Final, TypeVar

V = TypeVar("V")

LOG_MAX: Final = 64
"""Entries a log holds before a write starts a new one."""


class AppliedWindow(Mapping[str, V]):
    """Immutable as seen through its methods: `with_entry` returns a new window."""

    __slots__ = ("_end", "_keys", "_records", "_size")

    def __init__(self, size: int, records: dict[str, V], keys: list[str], end: int) -> None:
        """`records` and `keys` are the log (same keys, same order); it must not be written to
        other than by `with_entry`."""
        self._size = size
        self._records = records
        self._keys = keys
        self._end = end

    @classmethod
    def empty(cls, size: int) -> "AppliedWindow[V]":
        return cls(size, {}, [], 0)

    @classmethod
    def of(cls, size: int, entries: Mapping[str, V], owned: bool = False) -> "AppliedWindow[V]":
        """The newest `size` of `entries` (in their order, oldest first). `owned`: a plain dict
        nobody else holds (a decoded state's) becomes the log itself, without a copy."""
        if type(entries) is AppliedWindow and entries._size == size:  # `type`: spares the ABC
            return entries
        keys = list(entries)[-size:] if size else []
        if owned and type(entries) is dict and len(entries) == len(keys):
            return cls(size, entries, keys, len(keys))
        return cls(size, {key: entries[key] for key in keys}, keys, len(keys))

    def with_entry(self, key: str, value: V) -> "AppliedWindow[V]":
        """This window plus `key` (not in it), dropping the oldest entry when full."""
        records, keys, end = self._records, self._keys, self._end
        if 0 < end == len(keys) < LOG_MAX and key not in records:
            records[key] = value
            keys.append(key)
            return AppliedWindow(self._size, records, keys, end + 1)
        newest = keys[max(0, end - self._size + 1) : end]
        fresh = {k: records[k] for k in newest}
        fresh[key] = value
        newest.append(key)
        return AppliedWindow(self._size, fresh, newest, len(newest))

    def as_dict(self) -> dict[str, V]:
        """The entries as a new plain dict, oldest first."""
        records = self._records
        return {key: records[key] for key in self._window_keys()}

    def for_encoding(self) -> Mapping[str, V]:
        """The entries, oldest first, to read at once and let go: the log itself when it holds
        exactly this window, which a later write to the window appends to."""
        if self._end == len(self._keys) <= self._size:
            return self._records
        return self.as_dict()

    def _window_keys(self) -> list[str]:
        return self._keys[max(0, self._end - self._size) : self._end]

    def get(self, key: str, default: V | None = None) -> V | None:  # type: ignore[override]
        value = self._records.get(key)
        if value is None:  # the hot path: a new event
            return default
        if key in self._window_keys():
            return value
        return default

    def __getitem__(self, key: str) -> V:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._window_keys())

    def __len__(self) -> int:
        return min(self._size, self._end)

    def __repr__(self) -> str:
        return f"AppliedWindow({self.as_dict()!r})"

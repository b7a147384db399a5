"""Rule budgets ("cap max": the points a rule may ever award, over all users) in a keyed stream.

Usage is kept in a faust table as one entry per programme, rule and events partition, and each
entry is written only by the worker that owns the partition, under that partition's event, so
its changelog partition is the partition's own: no two workers ever write the same key, and a
partition's usage moves with it on a rebalance. A worker reads a rule's usage as the sum of the
entries it holds, which are those of its own partitions: with one worker (the local default)
that is every award, and the budget holds to the point. With several workers each one enforces
the budget over its share of the users' awards; see the README ("Rule budgets")."""

from collections.abc import Awaitable, Iterator, Mapping
from typing import Any

from processors.engine import CompiledProgramme
from processors.tables import TableWriter


def usage_key(programme_id: str, rule_id: str, partition: int) -> bytes:
    return f"{programme_id}\x1f{rule_id}\x1f{partition}".encode()


class BudgetUsage:
    """`table` holds the usage entries; `pending` holds the entries a batch changed and has not
    written yet, with the event each must be written under."""

    def __init__(self, table: TableWriter, partitions: int) -> None:
        self._table = table
        self._partitions = partitions
        self.pending: dict[bytes, tuple[int, Any]] = {}
        # One view per programme, made again when its budgeted rules change: the engine is
        # handed one for every event.
        self._views: dict[str, UsageView] = {}

    def used(self, programme_id: str, rule_id: str) -> int:
        return sum(
            self._entry(usage_key(programme_id, rule_id, p)) for p in range(self._partitions)
        )

    def view(self, programme: CompiledProgramme) -> "UsageView":
        """The engine's `budget_used` for the programme's budgeted rules, read when asked: the
        engine asks only for a budgeted rule that is about to pay."""
        rules = programme.budgeted_rules
        view = self._views.get(programme.programme_id)
        if view is None or view.rules != rules:
            view = UsageView(self, programme.programme_id, rules)
            self._views[programme.programme_id] = view
        return view

    def consume(self, programme_id: str, consumed: Mapping[str, int], event: Any) -> None:
        partition = event.message.partition
        for rule_id, points in consumed.items():
            key = usage_key(programme_id, rule_id, partition)
            # A return gives points back (negative): never below what nothing used.
            self.pending[key] = (max(0, self._entry(key) + points), event)

    def flush(self) -> Iterator[tuple[bytes, bytes, Any]]:
        """The batch's changed entries as (key, value, event to write under), then forgets them."""
        for key, (points, event) in self.pending.items():
            yield key, str(points).encode(), event
        self.pending = {}

    async def write(self) -> list[Awaitable[Any]]:
        """Writes the batch's changed entries (`flush`); returns their deliveries."""
        return [await self._table.set(key, used, event) for key, used, event in self.flush()]

    def _entry(self, key: bytes) -> int:
        if key in self.pending:
            return self.pending[key][0]
        stored = self._table.get(key)
        return 0 if stored is None else int(stored)


class UsageView(Mapping[str, int]):
    def __init__(self, usage: BudgetUsage, programme_id: str, rules: tuple[str, ...]) -> None:
        self._usage = usage
        self._programme_id = programme_id
        self.rules = rules

    def __getitem__(self, rule_id: str) -> int:
        if rule_id not in self.rules:
            raise KeyError(rule_id)
        return self._usage.used(self._programme_id, rule_id)

    def __iter__(self) -> Iterator[str]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

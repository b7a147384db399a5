"""Rule budget usage: one entry per partition, summed; a batch's changes are seen at once and
written once, each under an event of its own partition."""

import asyncio
from types import SimpleNamespace

from processors.budgets import BudgetUsage, usage_key
from processors.engine import CompiledProgramme, compile_programme
from tests.integration.processors.fixtures import capped_programme


def event_on(partition: int) -> SimpleNamespace:
    return SimpleNamespace(message=SimpleNamespace(partition=partition))


def budgeted_programme() -> CompiledProgramme:
    return compile_programme(capped_programme("p", budget_max=25))


def test_usage_is_the_sum_over_partitions_with_the_batch_pending() -> None:
    table = {usage_key("p", "visit", 0): b"10", usage_key("p", "visit", 3): b"5"}
    usage = BudgetUsage(table, partitions=4)  # type: ignore[arg-type]  # a TableWriter's part
    programme = budgeted_programme()
    assert usage.view(programme) == {"visit": 15}
    first, second = event_on(3), event_on(3)
    usage.consume("p", {"visit": 4}, first)
    usage.consume("p", {"visit": 1}, second)
    assert usage.view(programme) == {"visit": 20}
    assert list(usage.flush()) == [(usage_key("p", "visit", 3), b"10", second)]
    assert usage.pending == {}


def test_a_programme_without_budgets_reads_nothing() -> None:
    usage = BudgetUsage({}, partitions=4)  # type: ignore[arg-type]  # a TableWriter's part
    assert usage.view(compile_programme(capped_programme("q"))) == {}


class Writes(dict[bytes, bytes]):
    """A TableWriter's part: read as a dict, written with the event each entry goes under."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[tuple[bytes, bytes, object]] = []

    async def set(self, key: bytes, value: bytes, event: object) -> str:
        self[key] = value
        self.written.append((key, value, event))
        return f"delivery of {key!r}"


def test_write_sends_the_flushed_entries_and_returns_their_deliveries() -> None:
    table = Writes()
    usage = BudgetUsage(table, partitions=4)  # type: ignore[arg-type]  # a TableWriter's part
    event = event_on(1)
    usage.consume("p", {"visit": 7}, event)
    deliveries: list[object] = list(asyncio.run(usage.write()))
    key = usage_key("p", "visit", 1)
    assert deliveries == [f"delivery of {key!r}"]
    assert table.written == [(key, b"7", event)]
    assert usage.pending == {}
    assert usage.used("p", "visit") == 7

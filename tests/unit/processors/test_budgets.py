"""Rule budget usage: one entry per partition, summed; a batch's changes are seen at once and
written once, each under an event of its own partition."""

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
    usage = BudgetUsage(table, partitions=4)
    programme = budgeted_programme()
    assert usage.view(programme) == {"visit": 15}
    first, second = event_on(3), event_on(3)
    usage.consume("p", {"visit": 4}, first)
    usage.consume("p", {"visit": 1}, second)
    assert usage.view(programme) == {"visit": 20}
    assert list(usage.flush()) == [(usage_key("p", "visit", 3), b"10", second)]
    assert usage.pending == {}


def test_a_programme_without_budgets_reads_nothing() -> None:
    usage = BudgetUsage({}, partitions=4)
    assert usage.view(compile_programme(capped_programme("q"))) == {}

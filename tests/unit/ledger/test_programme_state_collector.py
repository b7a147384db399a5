"""The programmes' state is served from the last reading: a programme that is gone has no series,
a failed reading shows none (rather than stale figures) and is counted."""

from prometheus_client import REGISTRY

from ledger.metrics import ProgrammeStateCollector
from ledger.programme_state import ProgrammeState, RuleBudget, StateReading

READING = StateReading(
    programmes=[
        ProgrammeState(
            "demo", 120, 0, None, webhook_backlog_deliveries=3, webhook_backlog_oldest_s=9.5
        ),
        ProgrammeState("funded", 40, 5, 960),
    ],
    rule_budgets=[RuleBudget("funded", "launch", 25)],
)


def samples(collector: ProgrammeStateCollector) -> dict[tuple[str, tuple[str, ...]], float]:
    return {
        (sample.name, tuple(sample.labels.values())): sample.value
        for family in collector.collect()
        for sample in family.samples
    }


def failures_counted() -> float:
    counted = REGISTRY.get_sample_value("loyalty_ledger_programme_state_failures_total")
    assert counted is not None
    return counted


def test_a_reading_is_served_by_programme() -> None:
    collector = ProgrammeStateCollector()
    collector.publish(READING)
    assert samples(collector) == {
        ("loyalty_ledger_outstanding_points", ("demo",)): 120,
        ("loyalty_ledger_outstanding_points", ("funded",)): 40,
        ("loyalty_ledger_pending_points", ("demo",)): 0,
        ("loyalty_ledger_pending_points", ("funded",)): 5,
        ("loyalty_ledger_budget_remaining_points", ("funded",)): 960,
        ("loyalty_ledger_rule_budget_remaining_points", ("funded", "launch")): 25,
        ("loyalty_webhook_backlog_deliveries", ("demo",)): 3,
        ("loyalty_webhook_backlog_deliveries", ("funded",)): 0,
        ("loyalty_webhook_backlog_oldest_seconds", ("demo",)): 9.5,
        ("loyalty_webhook_backlog_oldest_seconds", ("funded",)): 0,
    }


def test_the_next_reading_replaces_the_last_one_whole() -> None:
    collector = ProgrammeStateCollector()
    collector.publish(READING)
    collector.publish(StateReading([ProgrammeState("funded", 41, 5, 959)], []))
    assert {labels for _, labels in samples(collector)} == {("funded",)}


def test_a_failed_reading_shows_no_figures_and_is_counted() -> None:
    collector = ProgrammeStateCollector()
    collector.publish(READING)
    failures = failures_counted()
    collector.publish(None)
    assert samples(collector) == {}
    assert failures_counted() == failures + 1
    assert {family.name for family in collector.collect()} == {
        "loyalty_ledger_outstanding_points",
        "loyalty_ledger_pending_points",
        "loyalty_ledger_budget_remaining_points",
        "loyalty_ledger_rule_budget_remaining_points",
        "loyalty_webhook_backlog_deliveries",
        "loyalty_webhook_backlog_oldest_seconds",
    }

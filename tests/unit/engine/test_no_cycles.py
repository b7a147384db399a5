"""The engine creates no reference cycles, so a processor may run with the cyclic GC frozen or
off (as bench.engine does) without leaking."""

import gc
from datetime import timedelta

from tests.unit.engine.fixtures import NOON, event, programme, rule, run

SHOP = {"name": "shop", "parameters": [{"name": "amount", "type": "float", "mandatory": True}]}


def test_decisions_leave_nothing_for_the_cyclic_collector() -> None:
    compiled = programme(
        [SHOP],
        [
            rule("spend", "shop", priority=1, points_type="per_unit", unit_field="amount",
                 daily_cap=500, budget_max=10**6,
                 conditions=[{"parameter": "amount", "operator": "greater_than", "value": 5}]),
            rule("default", "shop", default=True, frequency="daily"),
            rule("streak", "shop", streak={"type": "daily", "events_per_day": 1, "days": 2}),
        ],
    )  # fmt: skip
    events = [event("shop", {"amount": i / 3}, at=NOON + timedelta(hours=i)) for i in range(60)]
    gc.collect()
    gc.disable()
    try:
        decisions = run(events, compiled)
        decisions[-1].explanation.to_dict()
        del decisions
        assert gc.collect() == 0
    finally:
        gc.enable()

"""A return handled by the processor gives back a rule's budget usage and the user's cap, for
an original 40 events back, once, however often the return is redelivered."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import orjson

from gateway.admin.programmes import snapshot_bytes
from processors.budgets import BudgetUsage
from processors.catalog import ProgrammeCatalog
from processors.engine.state import UserState
from processors.handling import Decided, Record, handle
from schemas import topics
from schemas.events import EventV1
from schemas.programme import ProgrammeConfig

PROGRAMME = "giveback"
USER = "usr_1"
AT = datetime(2026, 11, 2, 10, tzinfo=UTC)
CONFIG = ProgrammeConfig.model_validate(
    {
        "programme_id": PROGRAMME,
        "version": 1,
        "event_types": [
            {"name": "purchase",
             "parameters": [{"name": "amount", "type": "float", "mandatory": True}]},
            {"name": "purchase.returned",
             "parameters": [{"name": "original_reference_id", "type": "string",
                             "mandatory": True},
                            {"name": "amount", "type": "float", "mandatory": True}],
             "returns": {"event_types": ["purchase"], "field": "amount"}},
            {"name": "visit"},
        ],
        "rules": [
            {"rule_id": "buy", "version": 1, "event_type": "purchase", "status": "active",
             "default": True, "points": 1, "points_type": "per_unit", "unit_field": "amount",
             "monthly_cap": 100, "budget_max": 150},
        ],
    }
)  # fmt: skip


def record(event_type: str, event_id: str, minutes: int, **metadata: Any) -> Record:
    item = EventV1(
        event_id=event_id,
        programme_id=PROGRAMME,
        user_id=USER,
        event_type=event_type,
        occurred_at=AT + timedelta(minutes=minutes),
        metadata=metadata,
    )
    value = orjson.dumps(item.model_dump(mode="json"))
    key = topics.user_key(PROGRAMME, USER)
    return Record(topic=topics.EVENTS, partition=2, offset=minutes, key=key, value=value)


def test_a_return_forty_events_on_frees_the_budget_and_the_cap_once() -> None:
    catalog = ProgrammeCatalog()
    assert catalog.apply(snapshot_bytes(CONFIG)) is not None
    usage = BudgetUsage({}, partitions=4)  # type: ignore[arg-type]  # a TableWriter's part
    partition = SimpleNamespace(message=SimpleNamespace(partition=2))
    refund = record("purchase.returned", "refund", 50, original_reference_id="buy", amount=100)
    records = [
        record("purchase", "buy", 0, amount=100),
        *(record("visit", f"visit-{n}", n + 1) for n in range(40)),
        refund,
        *(record("visit", f"visit-{n}", n + 20) for n in range(40, 80)),
        refund,
        record("purchase", "buy-2", 200, amount=100),
    ]
    state: UserState | None = None
    used, decided = [], []
    for item in records:
        handled = handle(item, state, catalog, budget_view=usage.view)
        assert isinstance(handled, Decided)
        state = handled.state
        usage.consume(PROGRAMME, handled.decision.budget_consumed, partition)
        used.append(usage.used(PROGRAMME, "buy"))
        decided.append(handled)
    assert (used[0], used[41], used[-2]) == (100, 0, 0)
    first, late = (orjson.loads(decided[i].command_json)["explanation"] for i in (41, -2))
    assert first["given_back"]["budget_points"] == {"buy": 100}
    assert first["given_back"]["monthly_cap_points"] == 100
    assert late["given_back"]["budget_points"] == {}
    assert decided[-1].decision.points == 100  # the cap and the budget are free again
    assert used[-1] == 100

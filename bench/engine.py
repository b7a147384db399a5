"""Throughput of the pure engine: `python -m bench.engine [--events N] [--serialise]`.

A realistic programme (50 rules over 10 event types: conditions of every type, default rules,
daily and monthly caps, calendar and rolling frequencies, rule budgets, daily and deadline
streaks, three tiers, two partners) decides generated events for 20,000 users over 90 days, in
time order, on one core. Events are generated before timing, in batches; only `decide` is timed,
plus, in the serialise run, each state's `to_bytes`/`from_bytes` round trip (what the faust
table does for every event).

The default run measures both: N events (1,000,000 by default) without serialising, then
`SERIALISE_EVENTS` (300,000) with, and ends with
`RESULT decisions_per_s=N decisions_with_state_per_s=M`. The serialise run uses fewer events
because it is the slower one and its per-event cost is steady after the first few events per
user; it starts from empty states, as the first run does. `--serialise` runs only the serialise
measurement on N events (`RESULT decisions_with_state_per_s=M`).

Each summary line also gives the process CPU time of the timed part (`decide_cpu_s`), and a last
line `CPU decisions_per_cpu_s=... decisions_with_state_per_cpu_s=...` the same rates per CPU
second: on a machine shared with other work, wall-clock rates fall with the load and CPU rates
much less, so compare those between runs (same workload, same timed code).

The cyclic garbage collector is off (`--gc` turns it on while decisions are timed): the engine
creates no reference cycles (tests/unit/engine/test_no_cycles.py), so reference counting frees
everything, and otherwise the collector's walks over 20,000 users' in-memory states, an artefact
of this bench keeping them as objects, would dominate the measurement.
"""

import argparse
import gc
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from processors.engine import CompiledProgramme, UserState, compile_programme, decide
from schemas.events import EventV1
from schemas.programme import ProgrammeConfig

BATCH_SIZE: Final = 100_000
USERS: Final = 20_000
START: Final = datetime(2024, 1, 1, tzinfo=UTC)
SPAN_S: Final = 90 * 86_400
EVENT_TYPE_COUNT: Final = 10
SERIALISE_EVENTS: Final = 300_000

_PARAMETERS: Final = [
    {"name": "amount", "type": "float", "mandatory": True},
    {"name": "duration", "type": "integer", "mandatory": True},
    {"name": "category", "type": "string"},
    {"name": "premium", "type": "boolean"},
]
_CATEGORIES: Final = ["PRANK", "RECIPE", "NEWS", "SPORT", "MUSIC"]


def _rules_for(index: int) -> list[dict[str, Any]]:
    name = f"type_{index}"
    common = {"version": 1, "event_type": name, "status": "active"}
    caps: dict[str, Any] = {"daily_cap": 400, "monthly_cap": 5_000} if index % 2 else {}
    return [
        {**common, "rule_id": f"{name}-prank", "priority": 1, "points": 100,
         "conditions": [{"parameter": "category", "operator": "equal_to", "value": "PRANK"}],
         **caps},
        {**common, "rule_id": f"{name}-recipe-short", "priority": 2, "points": 200,
         "frequency": {"every": 30, "unit": "minutes"},
         "conditions": [
             {"parameter": "category", "operator": "equal_to", "value": "RECIPE"},
             {"parameter": "duration", "operator": "less_than", "value": 10}]},
        {**common, "rule_id": f"{name}-premium-spend", "priority": 3, "points": "0.5",
         "points_type": "per_unit", "unit_field": "amount", "budget_max": 10**11,
         "conditions": [
             {"parameter": "premium", "operator": "equal_to", "value": True},
             {"parameter": "amount", "operator": "greater_than", "value": 20.0}], **caps},
        {**common, "rule_id": f"{name}-default", "default": True, "points": 5,
         "frequency": "daily" if index % 3 == 0 else "unlimited", **caps},
        {**common, "rule_id": f"{name}-streak", "points": 300,
         "conditions": [{"parameter": "duration", "operator": "greater_than", "value": 5}],
         "streak": {"type": "daily", "events_per_day": 2, "days": 3}},
    ]  # fmt: skip


def programme() -> ProgrammeConfig:
    names = [f"type_{i}" for i in range(EVENT_TYPE_COUNT)]
    return ProgrammeConfig.model_validate(
        {
            "programme_id": "bench",
            "version": 1,
            "time_zone": "Africa/Accra",
            "tiers": [
                {"name": "Bronze", "multiplier": "1"},
                {"name": "Silver", "multiplier": "1.5"},
                {"name": "Gold", "multiplier": "2"},
            ],
            "default_tier": "Bronze",
            "partners": [
                {"partner_id": "p1", "allowed_event_types": names},
                {"partner_id": "p2", "multiplier": "1.25", "allowed_event_types": names},
            ],
            "event_types": [{"name": name, "parameters": _PARAMETERS} for name in names],
            "rules": [rule for i in range(EVENT_TYPE_COUNT) for rule in _rules_for(i)],
        }
    )


def events(count: int, seed: int = 7) -> Iterator[list[EventV1]]:
    """Batches of events in time order, each user's metadata drawn at random.

    One template event is validated; the others are copies with new field values
    (`model_copy(update=...)` skips validation and is cheaper than `model_construct`), drawn with
    `random()` rather than `randrange`/`choice`, so building a million events takes seconds.
    """
    rng = random.Random(seed)
    draw = rng.random
    template = EventV1(
        event_id="evt_template",
        programme_id="bench",
        user_id="user_0",
        event_type="type_0",
        occurred_at=START,
        partner_id="p1",
        metadata={},
    )
    users = [f"user_{n}" for n in range(USERS)]
    event_types = [f"type_{n}" for n in range(EVENT_TYPE_COUNT)]
    step_us = SPAN_S * 1_000_000 // count
    for first in range(0, count, BATCH_SIZE):
        batch = []
        for number in range(first, min(first + BATCH_SIZE, count)):
            metadata: dict[str, Any] = {
                "amount": round(1 + 199 * draw(), 2),
                "duration": 1 + int(30 * draw()),
                "category": _CATEGORIES[int(len(_CATEGORIES) * draw())],
                "premium": draw() < 0.3,
                "reference_id": f"ref-{number}",
            }
            update = {
                "event_id": f"evt_{number}",
                "user_id": users[int(USERS * draw())],
                "event_type": event_types[int(EVENT_TYPE_COUNT * draw())],
                "occurred_at": START + timedelta(microseconds=number * step_us),
                "partner_id": "p1" if draw() < 0.5 else "p2",
                "metadata": metadata,
            }
            batch.append(template.model_copy(update=update))
        yield batch


def _run_batch(
    batch: list[EventV1],
    states: dict[str, UserState],
    compiled: CompiledProgramme,
    serialise: bool,
    keep_gc: bool,
) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, points) of deciding `batch`."""
    initial = UserState.initial()
    points = 0
    if keep_gc:
        gc.enable()
    started_cpu = time.process_time()
    started = time.perf_counter()
    for event in batch:
        state = states.get(event.user_id, initial)
        if serialise:
            state = UserState.from_bytes(state.to_bytes())
        decision = decide(event, state, compiled)
        states[event.user_id] = decision.state
        points += decision.points
    elapsed_s = time.perf_counter() - started
    elapsed_cpu_s = time.process_time() - started_cpu
    gc.disable()
    return elapsed_s, elapsed_cpu_s, points


def _measure(
    count: int, compiled: CompiledProgramme, serialise: bool, keep_gc: bool
) -> tuple[int, int]:
    """Decisions per wall and per CPU second over `count` events from empty states; prints a
    summary line."""
    states: dict[str, UserState] = {}
    elapsed_s, cpu_s, points, decided = 0.0, 0.0, 0, 0
    for batch in events(count):
        batch_s, batch_cpu_s, batch_points = _run_batch(batch, states, compiled, serialise, keep_gc)
        elapsed_s, cpu_s, points, decided = (
            elapsed_s + batch_s,
            cpu_s + batch_cpu_s,
            points + batch_points,
            decided + len(batch),
        )
    rules = sum(
        len(r) for r in (*compiled.ordinary_rules.values(), *compiled.streak_rules.values())
    )
    sizes = sorted(len(state.to_bytes()) for state in states.values())
    print(
        f"rules={rules} events={decided} users={len(states)} points={points} "
        f"decide_s={elapsed_s:.2f} decide_cpu_s={cpu_s:.2f} serialise={serialise} gc={keep_gc} "
        f"state_bytes_median={sizes[len(sizes) // 2]} state_bytes_max={sizes[-1]}"
    )
    return int(decided / elapsed_s), int(decided / cpu_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--serialise", action="store_true", help="only the serialise run")
    parser.add_argument("--gc", action="store_true", help="keep the cyclic GC on while timing")
    arguments = parser.parse_args()
    # Off outside the timed loops too: generating events makes no cycles, and collections walking
    # the states built so far would make generation slower with every batch.
    gc.disable()
    compiled = compile_programme(programme())
    if arguments.serialise:
        with_state, with_state_cpu = _measure(arguments.events, compiled, True, arguments.gc)
        print(f"CPU decisions_with_state_per_cpu_s={with_state_cpu}")
        print(f"RESULT decisions_with_state_per_s={with_state}")
        return
    plain, plain_cpu = _measure(arguments.events, compiled, False, arguments.gc)
    with_state, with_state_cpu = _measure(
        min(arguments.events, SERIALISE_EVENTS), compiled, True, arguments.gc
    )
    print(f"CPU decisions_per_cpu_s={plain_cpu} decisions_with_state_per_cpu_s={with_state_cpu}")
    print(f"RESULT decisions_per_s={plain} decisions_with_state_per_s={with_state}")


if __name__ == "__main__":
    main()

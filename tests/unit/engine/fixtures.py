"""Builders for engine tests: small programmes from dicts, events with sensible defaults."""

import itertools
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from processors.engine import CompiledProgramme, Decision, UserState, compile_programme, decide
from schemas.events import EventV1
from schemas.programme import ProgrammeConfig

NOON: datetime = datetime(2024, 3, 10, 12, tzinfo=UTC)
DEMO_YAML = Path(__file__).resolve().parents[3] / "deploy" / "programmes" / "demo.yaml"
_event_numbers = itertools.count()

TIERS = [
    {"name": "Bronze", "multiplier": "1.0"},
    {"name": "Silver", "multiplier": "1.5"},
    {"name": "Gold", "multiplier": "2.0"},
]


def event(
    event_type: str,
    metadata: Mapping[str, Any] | None = None,
    *,
    at: datetime = NOON,
    programme_id: str = "test",
    **fields: Any,
) -> EventV1:
    return EventV1(
        event_id=fields.pop("event_id", f"evt_{next(_event_numbers)}"),
        programme_id=programme_id,
        user_id=fields.pop("user_id", "user-1"),
        event_type=event_type,
        occurred_at=at,
        metadata=dict(metadata or {}),
        **fields,
    )


def rule(rule_id: str, event_type: str, **fields: Any) -> dict[str, Any]:
    return {
        "rule_id": rule_id,
        "version": 1,
        "event_type": event_type,
        "status": "active",
        "points": 10,
        **fields,
    }


def config_dict(
    event_types: Iterable[Mapping[str, Any]], rules: Iterable[Mapping[str, Any]], **fields: Any
) -> dict[str, Any]:
    return {
        "programme_id": "test",
        "version": 1,
        "time_zone": "UTC",
        "tiers": TIERS,
        "default_tier": "Bronze",
        "event_types": list(event_types),
        "rules": list(rules),
        **fields,
    }


def programme(
    event_types: Iterable[Mapping[str, Any]], rules: Iterable[Mapping[str, Any]], **fields: Any
) -> CompiledProgramme:
    return compile_programme(
        ProgrammeConfig.model_validate(config_dict(event_types, rules, **fields))
    )


def demo_config() -> ProgrammeConfig:
    return ProgrammeConfig.model_validate(yaml.safe_load(DEMO_YAML.read_text()))


def run(
    events: Iterable[EventV1],
    compiled: CompiledProgramme,
    state: UserState | None = None,
    **options: Any,
) -> list[Decision]:
    """Decide events in order for one user, threading the state through."""
    decisions = []
    current = state or UserState.initial()
    for item in events:
        decision = decide(item, current, compiled, **options)
        decisions.append(decision)
        current = decision.state
    return decisions


def points(decisions: Iterable[Decision]) -> list[int]:
    return [d.points for d in decisions]

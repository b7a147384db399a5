"""A configuration snapshot compiled for the hot path: plain slotted objects, rules indexed by
event type and sorted by priority, conditions as closures, amounts as scaled integers.

Compile once per `config.v1` snapshot and pass the result to `decide` for every event.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from processors.engine.amounts import ROUNDERS, Rounder, display, scaled
from processors.engine.conditions import (
    Clause,
    CompiledCondition,
    Matcher,
    Predicate,
    compile_condition,
    first_match,
    rule_predicate,
)
from processors.engine.explain import RuleTrace
from processors.engine.outcomes import AwardKind
from processors.engine.parameters import (
    CompiledParameter,
    ParameterCheck,
    compile_check,
    compile_parameters,
)
from processors.engine.periods import ProgrammeCalendar, epoch_us
from processors.engine.tiering import CompiledTierPolicy, compile_tier_policy
from schemas.programme import (
    BeforeStreak,
    DailyStreak,
    ExternalPoints,
    ProgrammeConfig,
    RollingFrequency,
    Rule,
)

# Open validity bounds as integers, so the window test is one chained comparison.
ALWAYS_FROM: Final = -(2**62)
ALWAYS_UNTIL: Final = 2**62

_WINDOW_US: Final[Mapping[str, int]] = {
    "minutes": 60_000_000,
    "hours": 3_600_000_000,
    "days": 86_400_000_000,
}


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule_id: str
    version: int
    event_type: str
    kind: AwardKind
    status: str
    trigger: str
    default: bool
    valid_from_us: int
    """Inclusive; `ALWAYS_FROM` when the rule has no start."""
    valid_until_us: int
    """Exclusive; `ALWAYS_UNTIL` when the rule has no end."""
    conditions: tuple[CompiledCondition, ...]
    clause: Clause
    matches: Predicate | None
    """Validity window and conditions in one call; None when the rule always applies."""
    points_type: str
    points_e4: int
    points_text: str
    unit_field: str
    """The per-unit parameter; empty unless points_type is per_unit."""
    external: ExternalPoints | None
    daily_cap: int | None
    monthly_cap: int | None
    capped: bool
    """Has a daily or monthly cap."""
    frequency: str
    """once | daily | weekly | monthly | unlimited | rolling"""
    window_us: int
    budget_max: int | None
    authorised_clients: frozenset[str]
    streak: DailyStreak | BeforeStreak | None
    streak_before_us: int | None
    streak_events_per_day: int
    """A daily streak's events per day; 0 for any other rule."""
    streak_days: int
    """A daily streak's consecutive days; 0 for any other rule."""
    streak_events: int
    """A deadline streak's events before its deadline; 0 for any other rule."""
    pending_days: int = 0
    """A pending award's return window in days; 0: no window."""
    pending_until: str = ""
    """The event type that confirms a pending award; empty: none."""

    @property
    def pending(self) -> bool:
        return self.pending_days > 0 or self.pending_until != ""


@dataclass(frozen=True, slots=True)
class CompiledPartner:
    multiplier_e4: int
    multiplier_text: str
    allowed_event_types: frozenset[str]


@dataclass(frozen=True, slots=True)
class CompiledReturn:
    field: str
    """The metadata key of the amount, in the return and in its original."""
    award_rule_ids: tuple[str, ...]
    """Every earn rule of the original types, whatever its status: an original's awards are
    booked under `event_id:rule_id` for some of them."""


@dataclass(frozen=True, slots=True)
class CompiledProgramme:
    programme_id: str
    version: int
    calendar: ProgrammeCalendar
    rounding: str
    rounder: Rounder
    award_points_max: int
    tiers: dict[str, int]
    tier_texts: dict[str, str]
    """For explanations: ' * tier Silver 1.5'."""
    default_tier: str
    tier_policy: CompiledTierPolicy | None
    """Tiers from points; None: tiers are only set by hand."""
    partners: dict[str, CompiledPartner]
    parameters: dict[str, tuple[CompiledParameter, ...]]
    parameter_checks: dict[str, ParameterCheck]
    """Per event type with parameters: does an event's metadata fit (see `parameter_problem`)."""
    ordinary_rules: dict[str, tuple[CompiledRule, ...]]
    """Active event-triggered rules without a streak, per event type, in the order to try them."""
    matchers: dict[str, Matcher]
    """Per event type of `ordinary_rules`: the index of the first of its rules that matches."""
    streak_rules: dict[str, tuple[CompiledRule, ...]]
    rules_by_id: dict[str, CompiledRule]
    budgeted_rules: tuple[str, ...]
    """Ids of the rules with a budget (cap max), whose usage a decision needs."""
    returns: dict[str, CompiledReturn]
    """Per return event type (`EventType.returns`): what its events take back."""
    returnable: dict[str, str]
    """Per event type some return type takes back: the metadata key of its amount, which its
    awards' returnable records keep (so a return can give back the caps and budgets they used)."""
    confirming_types: frozenset[str] = frozenset()
    """Event types that confirm some active rule's pending awards (`PendingPoints.until_event`)."""
    capped_types: frozenset[str] = frozenset()
    """Event types some rule caps daily or monthly: a return there may give caps back."""
    payment_traces: dict[tuple[str, str, CompiledPartner | None], RuleTrace] = field(
        default_factory=dict, compare=False, repr=False
    )
    """Memo of `details.payment`: the trace of a fixed-points rule paid in full, by rule id, tier
    and partner. Such a trace is the same for every event it pays, and rendering it again for
    each was about a tenth of the processors' own work per event. Bounded by the programme's
    rules, tiers and partners (and `PAYMENT_TRACES_MAX`); it goes with the programme."""


def _optional_us(at: datetime | None) -> int | None:
    return None if at is None else epoch_us(at)


def compile_rule(rule: Rule) -> CompiledRule:
    rolling = isinstance(rule.frequency, RollingFrequency)
    window_us = 0
    if isinstance(rule.frequency, RollingFrequency):
        window_us = rule.frequency.every * _WINDOW_US[rule.frequency.unit]
    before = rule.streak.before if isinstance(rule.streak, BeforeStreak) else None
    daily = rule.streak if isinstance(rule.streak, DailyStreak) else None
    valid_from_us = ALWAYS_FROM if rule.valid_from is None else epoch_us(rule.valid_from)
    valid_until_us = ALWAYS_UNTIL if rule.valid_until is None else epoch_us(rule.valid_until)
    conditions = tuple(compile_condition(c) for c in rule.conditions)
    bounded = valid_from_us != ALWAYS_FROM or valid_until_us != ALWAYS_UNTIL
    clause = Clause((valid_from_us, valid_until_us) if bounded else None, conditions)
    return CompiledRule(
        rule_id=rule.rule_id,
        version=rule.version,
        event_type=rule.event_type,
        kind=rule.kind,
        status=rule.status,
        trigger=rule.trigger,
        default=rule.default,
        valid_from_us=valid_from_us,
        valid_until_us=valid_until_us,
        conditions=conditions,
        clause=clause,
        matches=rule_predicate(clause),
        points_type=rule.points_type,
        points_e4=scaled(rule.points),
        points_text=display(scaled(rule.points)),
        unit_field=rule.unit_field or "",
        external=rule.external,
        daily_cap=rule.daily_cap,
        monthly_cap=rule.monthly_cap,
        capped=rule.daily_cap is not None or rule.monthly_cap is not None,
        frequency="rolling" if rolling else str(rule.frequency),
        window_us=window_us,
        budget_max=rule.budget_max,
        authorised_clients=frozenset(rule.authorised_clients),
        streak=rule.streak,
        streak_before_us=_optional_us(before),
        streak_events_per_day=daily.events_per_day if daily is not None else 0,
        streak_days=daily.days if daily is not None else 0,
        streak_events=rule.streak.events if isinstance(rule.streak, BeforeStreak) else 0,
        pending_days=0 if rule.pending is None else rule.pending.days or 0,
        pending_until="" if rule.pending is None else rule.pending.until_event or "",
    )


def _try_order(rule: CompiledRule, priority: int) -> tuple[bool, int, str]:
    # The default rule goes last whatever its priority; ties cannot happen (validated) but the
    # rule id makes the order total anyway.
    return (rule.default, priority, rule.rule_id)


def _index_rules(
    config: ProgrammeConfig, compiled: Mapping[str, CompiledRule]
) -> tuple[dict[str, tuple[CompiledRule, ...]], dict[str, tuple[CompiledRule, ...]]]:
    ordinary: dict[str, list[tuple[tuple[bool, int, str], CompiledRule]]] = {}
    streaks: dict[str, list[tuple[tuple[bool, int, str], CompiledRule]]] = {}
    for rule in config.rules:
        if rule.status != "active" or rule.trigger != "event":
            continue
        target = ordinary if rule.streak is None else streaks
        entry = compiled[rule.rule_id]
        target.setdefault(rule.event_type, []).append((_try_order(entry, rule.priority), entry))
    return (
        {name: tuple(r for _, r in sorted(rules)) for name, rules in ordinary.items()},
        {name: tuple(r for _, r in sorted(rules)) for name, rules in streaks.items()},
    )


def compile_programme(config: ProgrammeConfig) -> CompiledProgramme:
    rules_by_id = {rule.rule_id: compile_rule(rule) for rule in config.rules}
    ordinary, streaks = _index_rules(config, rules_by_id)
    parameters = {e.name: compile_parameters(e) for e in config.event_types}
    return CompiledProgramme(
        programme_id=config.programme_id,
        version=config.version,
        calendar=ProgrammeCalendar(ZoneInfo(config.time_zone)),
        rounding=config.rounding,
        rounder=ROUNDERS[config.rounding],
        award_points_max=config.budget.award_points_max,
        tiers={tier.name: scaled(tier.multiplier) for tier in config.tiers},
        tier_texts={
            t.name: f" * tier {t.name} {display(scaled(t.multiplier))}" for t in config.tiers
        },
        default_tier=config.default_tier,
        tier_policy=compile_tier_policy(config),
        partners={
            p.partner_id: CompiledPartner(
                scaled(p.multiplier),
                f" * partner {display(scaled(p.multiplier))}",
                frozenset(p.allowed_event_types),
            )
            for p in config.partners
        },
        parameters=parameters,
        parameter_checks={name: compile_check(p) for name, p in parameters.items() if p},
        ordinary_rules=ordinary,
        matchers={name: first_match([r.clause for r in rules]) for name, rules in ordinary.items()},
        streak_rules=streaks,
        rules_by_id=rules_by_id,
        budgeted_rules=tuple(r.rule_id for r in rules_by_id.values() if r.budget_max is not None),
        confirming_types=frozenset(
            r.pending_until
            for r in rules_by_id.values()
            if r.pending_until and r.status == "active"
        ),
        returns=_compile_returns(config),
        returnable=_returnable(config),
        capped_types=frozenset(
            r.event_type
            for r in rules_by_id.values()
            if r.daily_cap is not None or r.monthly_cap is not None
        ),
    )


def _returnable(config: ProgrammeConfig) -> dict[str, str]:
    found: dict[str, str] = {}
    for event_type in config.event_types:
        spec = event_type.returns
        for name in () if spec is None else spec.event_types:
            found.setdefault(name, spec.field if spec is not None else "")
    return found


def _compile_returns(config: ProgrammeConfig) -> dict[str, CompiledReturn]:
    compiled = {}
    for event_type in config.event_types:
        spec = event_type.returns
        if spec is None:
            continue
        originals = set(spec.event_types)
        earning = (r for r in config.rules if r.event_type in originals and r.kind == "earn")
        rule_ids = tuple(sorted(r.rule_id for r in earning))
        compiled[event_type.name] = CompiledReturn(spec.field, rule_ids)
    return compiled

"""`config.v1`: one programme's configuration as a single versioned snapshot.

The snapshot is what the admin API saves, what Postgres keeps in `programmes.config` and what
every processor holds in memory. It loads from plain dicts (YAML or JSON) with
`ProgrammeConfig.model_validate`.
Every mistake a rule author can make is reported here, when the snapshot is saved, with the field
named (`rules[2].conditions[0].operator: ...`), never when an event arrives.

Amounts are exact: multipliers and rule points are `Decimal` with at most four decimal places and
the engine computes with scaled integers; `rounding` turns the fractional result into whole points.
"""

import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Annotated, Final, Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    field_validator,
    model_validator,
)

from schemas.event_time import EventTimePolicy
from schemas.events import Identifier

TIER_ASSIGNED_EVENT_TYPE: Final = "tier.assigned"
"""Reserved system event type: `metadata: {"tier": "Silver"}` sets the user's tier."""
TIER_REVIEW_EVENT_TYPE: Final = "tier.review"
"""Reserved system event type, sent by `loyalty-scheduler` at a programme's local midnight
(`occurred_at`) to each user whose tier is due for review that day: the tier policy's downgrade
runs then."""
RESERVED_EVENT_TYPES: Final = frozenset({TIER_ASSIGNED_EVENT_TYPE, TIER_REVIEW_EVENT_TYPE})

STREAK_RULES_PER_EVENT_TYPE_MAX: Final = 15
"""A ledger command holds at most 16 bookings: one ordinary award plus this many streak awards."""

ParamType = Literal["integer", "float", "string", "boolean"]
Operator = Literal[
    "equal_to",
    "not_equal_to",
    "less_than",
    "less_than_or_equal",
    "greater_than",
    "greater_than_or_equal",
    "contains",
    "starts_with",
    "ends_with",
    "is_empty",
    "is_not_empty",
]
Rounding = Literal["floor", "round_half_up", "ceil"]
RuleStatus = Literal["draft", "active", "ended"]
CalendarFrequency = Literal["once", "daily", "weekly", "monthly", "unlimited"]

_NUMERIC_OPERATORS: Final = frozenset(
    {
        "equal_to",
        "not_equal_to",
        "less_than",
        "less_than_or_equal",
        "greater_than",
        "greater_than_or_equal",
        "is_empty",
        "is_not_empty",
    }
)
OPERATORS_BY_TYPE: Final[Mapping[str, frozenset[str]]] = {
    "integer": _NUMERIC_OPERATORS,
    "float": _NUMERIC_OPERATORS,
    "string": frozenset(
        {
            "equal_to",
            "not_equal_to",
            "contains",
            "starts_with",
            "ends_with",
            "is_empty",
            "is_not_empty",
        }
    ),
    "boolean": frozenset({"equal_to", "not_equal_to", "is_empty", "is_not_empty"}),
}
VALUELESS_OPERATORS: Final = frozenset({"is_empty", "is_not_empty"})

# Four decimal places keep every product an exact scaled integer (see processors.engine.amounts).
Multiplier = Annotated[Decimal, Field(ge=0, le=1000, decimal_places=4)]
RulePoints = Annotated[Decimal, Field(ge=0, le=10**9, decimal_places=4)]
PositivePoints = Annotated[int, Field(gt=0, le=10**12)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Tier(_Frozen):
    """A level of membership; a user is in the programme's `default_tier` until a
    `tier.assigned` event sets another (docs/programme-file.md, "Setting a user's tier")."""

    name: Identifier = Field(description="The tier's name, as `tier.assigned` events name it.")
    multiplier: Multiplier = Field(
        default=Decimal(1),
        description="Multiplies what the tier's users earn (rule points x tier x partner); "
        "redemptions cost their base amount. Exact, at most four decimal places.",
    )
    threshold_points: Annotated[int, Field(ge=0, le=10**12)] | None = Field(
        default=None,
        description="Points earned (in `tier_policy`'s window) that reach this tier: the event "
        "that crosses it upgrades the user, and the next event earns with this tier's "
        "multiplier. Given for every tier when the programme has a `tier_policy` (the default "
        "tier's is 0), for none without one (tiers are then only set by hand).",
    )


class Partner(_Frozen):
    """A company that publishes events through the gateway with its API keys."""

    partner_id: Identifier = Field(
        description="The partner's id; its API keys are issued for it "
        "(`loyalty-admin create-key --partner`)."
    )
    multiplier: Multiplier = Field(
        default=Decimal(1),
        description="Multiplies what the partner's events earn. Exact, at most four decimal "
        "places.",
    )
    allowed_event_types: tuple[Identifier, ...] = Field(
        default=(),
        description="The declared event types the partner may publish; any other is refused "
        "(403 `forbidden`).",
    )
    rate_limit_per_minute: Annotated[int, Field(ge=1, le=1_000_000)] = Field(
        default=30, description="Events the partner may publish per minute (mgPass: 30)."
    )

    def allows(self, event_type: str) -> bool:
        return event_type in self.allowed_event_types


class ApiClient(_Frozen):
    """A client that may trigger API rules by id (the seed's "authorised clients")."""

    client_id: Identifier = Field(
        description="The client's id, registered with `loyalty-admin create-client`; API rules "
        "name it in `authorised_clients`."
    )
    name: str | None = Field(default=None, description="For people; the engine ignores it.")


PARAMETER_TYPES: Final[Mapping[str, frozenset[type]]] = {
    "integer": frozenset({int}),
    "float": frozenset({int, float}),
    "string": frozenset({str}),
    "boolean": frozenset({bool}),
}
"""The Python types a JSON value of each parameter type decodes to. Exact types, not
isinstance: bool is a subclass of int, and True is not an integer here."""


class ParameterSpec(Protocol):
    """A parameter as `parameter_problem` reads it (`Parameter`, or the engine's compiled one)."""

    @property
    def name(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def mandatory(self) -> bool: ...


def parameter_problem(
    parameters: Iterable[ParameterSpec], metadata: Mapping[str, JsonValue]
) -> str | None:
    """Why the metadata does not fit the event type (the first problem), or None. Null counts
    as absent; undeclared metadata keys (reference_id, currency, ...) are allowed and ignored.
    A float must be finite."""
    for parameter in parameters:
        value = metadata.get(parameter.name)
        if value is None:
            if parameter.mandatory:
                return f"mandatory parameter '{parameter.name}' is missing"
        elif type(value) not in PARAMETER_TYPES[parameter.type] or (
            type(value) is float and not math.isfinite(value)
        ):
            return (
                f"parameter '{parameter.name}' must be {parameter.type}, "
                f"got {type(value).__name__} {value!r}"
            )
    return None


class Parameter(_Frozen):
    """A typed value in an event's `metadata`."""

    name: Identifier = Field(description="Its key in the event's `metadata`.")
    type: ParamType = Field(
        description="The JSON type the value must have (`float` takes integers too); "
        "conditions and `unit_field` are checked against it when the file is loaded."
    )
    mandatory: bool = Field(
        default=False,
        description="An event without it (or with null) is refused as `invalid_event`.",
    )


RETURN_REFERENCE_PARAMETER: Final = "original_reference_id"
"""The metadata key a return event names its original by (`ReturnOf`)."""


class ReturnOf(_Frozen):
    """Marks an event type as a return (a refund, a cancelled order): its events take back the
    share of the original event's award that they return. A return names its original by
    `metadata.original_reference_id` (the original's `reference_id`, from the same partner; an
    internal service's event: its `event_id`) and gives the returned amount or quantity in
    `metadata[field]`; it takes back `award * returned / original` points of each award of
    the original (docs/returns.md)."""

    event_types: Annotated[tuple[Identifier, ...], Field(min_length=1, max_length=20)] = Field(
        description="The declared event types whose awards this type takes back (not returns)."
    )
    field: Identifier = Field(
        description="The numeric parameter that holds the amount (or quantity): a mandatory "
        "parameter of the return type, and a parameter of each original type."
    )


class EventType(_Frozen):
    """What happened to a user, as partners and internal services publish it."""

    name: Identifier = Field(
        description="The `event_type` events carry; `tier.assigned` and `tier.review` are reserved."
    )
    parameters: tuple[Parameter, ...] = Field(
        default=(),
        description="The event type's typed metadata; a value of the wrong type refuses the "
        "event, and undeclared metadata keys are allowed and ignored.",
    )
    returns: ReturnOf | None = Field(
        default=None,
        description="Set on a return type: its events earn nothing and take back the returned "
        "share of their original's award. A return type has no rules, and declares "
        "`original_reference_id` as a mandatory string parameter. None: an ordinary type.",
    )

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, name: str) -> str:
        if name in RESERVED_EVENT_TYPES:
            raise ValueError(f"'{name}' is a reserved system event type")
        return name

    @field_validator("parameters")
    @classmethod
    def _unique_parameters(cls, parameters: tuple[Parameter, ...]) -> tuple[Parameter, ...]:
        duplicates = _duplicates(p.name for p in parameters)
        if duplicates:
            raise ValueError(f"duplicate parameter names: {duplicates}")
        return parameters

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)


class Condition(_Frozen):
    """One statement; a rule's conditions are ANDed."""

    parameter: Identifier = Field(description="A parameter of the rule's event type.")
    operator: Operator = Field(
        description="How the event's value is compared; which operators apply depends on the "
        "parameter's type (numbers: the comparisons; strings: equality, contains, starts_with, "
        "ends_with; booleans: equality; all: is_empty, is_not_empty)."
    )
    value: bool | int | float | str | None = Field(
        default=None,
        description="What the event's value is compared with, of the parameter's type; none "
        "for is_empty and is_not_empty.",
    )


class RollingFrequency(_Frozen):
    """Once per N minutes/hours/days on a rolling window (Kwegg's frequency cap)."""

    every: Annotated[int, Field(ge=1, le=100_000)] = Field(description="How many `unit`s.")
    unit: Literal["minutes", "hours", "days"] = Field(
        description="The window counts from the instant the rule last paid the user."
    )


class DailyStreak(_Frozen):
    """`events_per_day` matching events on each of `days` consecutive calendar days."""

    type: Literal["daily"] = Field(description="A run of consecutive local days.")
    events_per_day: Annotated[int, Field(ge=1, le=1_000)] = Field(
        description="Matching events needed on each day; a day with fewer resets the run."
    )
    days: Annotated[int, Field(ge=1, le=3_660)] = Field(
        description="Consecutive days; the rule pays at the event that completes the run."
    )


class BeforeStreak(_Frozen):
    """`events` matching events before the instant `before`."""

    type: Literal["before"] = Field(description="A count of events before a deadline.")
    events: Annotated[int, Field(ge=1, le=100_000)] = Field(
        description="Matching events needed; the rule pays once, at the event that completes them."
    )
    before: AwareDatetime = Field(description="Only events that occurred before it count.")


Streak = Annotated[DailyStreak | BeforeStreak, Field(discriminator="type")]


class ExternalPoints(_Frozen):
    """A programmatic reward: the processor calls this API and the engine uses its answer.

    The API must answer `{"points": <integer >= 0>}`; that integer is the rule's base points.
    """

    url: Annotated[str, Field(pattern=r"^https?://", max_length=2048)] = Field(
        description="The API the processors call for the event."
    )
    method: Literal["GET", "POST", "PUT"] = Field(default="POST", description="Its HTTP method.")
    headers: dict[str, str] = Field(
        default_factory=dict, description="Sent with every call (an API key, for instance)."
    )
    body: dict[str, JsonValue] = Field(
        default_factory=dict, description="The JSON body sent with every call."
    )


class PendingPoints(_Frozen):
    """An earn rule's points held back as pending (docs/programme-file.md, "Pending points"):
    booked at once, shown beside the available balance, never spendable, and made available
    when the return window ends or the confirming event arrives, whichever comes first."""

    days: Annotated[int, Field(ge=1, le=3_660)] | None = Field(
        default=None,
        description="The return window: the points become available at the programme's local "
        "midnight `days` days after the day they were earned (earned on 1 March with 14 days: "
        "available from 00:00 on 15 March), released by the scheduler's day command.",
    )
    until_event: Identifier | None = Field(
        default=None,
        description="A declared event type that confirms the award (e.g. `order.completed`): "
        "an event of this type whose `metadata.original_reference_id` names the earning "
        "event's `reference_id` (or, for an event sent without one, its `event_id`) makes the "
        "user's pending points of that event available at once. With `days` too, whichever "
        "comes first; alone, the points stay pending until it arrives (or a return cancels them).",
    )

    @model_validator(mode="after")
    def _either(self) -> "PendingPoints":
        if self.days is None and self.until_event is None:
            raise ValueError("pending needs days, until_event or both")
        return self


class Rule(_Frozen):
    """What an event of `event_type` earns (or what an API-triggered redemption costs). Of an
    event's ordinary rules the first that matches, in `priority` order with the default rule
    last, pays; every matching streak rule counts the event on its own."""

    rule_id: Identifier = Field(description="The rule's id, kept in every award's lineage.")
    version: Annotated[int, Field(ge=1)] = Field(
        description="The rule's version, recorded with every decision that used it."
    )
    name: str | None = Field(default=None, description="For people; the engine ignores it.")
    event_type: Identifier = Field(description="The declared event type the rule applies to.")
    kind: Literal["earn", "redeem"] = Field(
        default="earn",
        description="`earn` credits the user; `redeem` debits the base amount, all or nothing.",
    )
    status: RuleStatus = Field(
        default="draft", description="Only `active` rules pay; `ended` rules are history."
    )
    valid_from: AwareDatetime | None = Field(
        default=None, description="The rule pays for events that occurred from then on."
    )
    valid_until: AwareDatetime | None = Field(default=None, description="Exclusive end.")
    priority: int = Field(default=0, description="Lower is tried first.")
    default: bool = Field(default=False, description="Applies when no other rule matches.")
    conditions: tuple[Condition, ...] = Field(
        default=(), description="All must hold for the rule to match (AND)."
    )
    points: RulePoints = Field(
        default=Decimal(0),
        description="Points for `fixed`, points per unit for `per_unit` (exact, at most four "
        "decimal places; `rounding` makes whole points).",
    )
    points_type: Literal["fixed", "per_unit", "external"] = Field(
        default="fixed",
        description="`fixed`: `points`; `per_unit`: `points` x the event's `unit_field`; "
        "`external`: what the `external` API answers.",
    )
    unit_field: Identifier | None = Field(
        default=None,
        description="For `per_unit`: a mandatory numeric parameter of the event type.",
    )
    external: ExternalPoints | None = Field(
        default=None, description="For `external`: the API that says the points."
    )
    daily_cap: PositivePoints | None = Field(
        default=None,
        description="Points a user may get from the rule's event type per local day; the "
        "award is cut to what is left (a redemption is refused instead).",
    )
    monthly_cap: PositivePoints | None = Field(
        default=None, description="As `daily_cap`, per local calendar month."
    )
    frequency: CalendarFrequency | RollingFrequency = Field(
        default="unlimited",
        description="How often the rule may pay one user: once ever, once per local day, ISO "
        "week or month, or once per rolling window (`every`, `unit`).",
    )
    budget_max: PositivePoints | None = Field(
        default=None, description="Cap max: total points the rule may ever award, all users."
    )
    trigger: Literal["event", "api"] = Field(
        default="event",
        description="`api`: paid only when an authorised client triggers the rule by its id "
        "(`POST /api/rules/{rule_id}/trigger`).",
    )
    authorised_clients: tuple[Identifier, ...] = Field(
        default=(), description="For `api` rules: the declared API clients that may trigger it."
    )
    streak: Streak | None = Field(
        default=None,
        description="Pays once a run of matching events is complete instead of per event.",
    )
    pending: PendingPoints | None = Field(
        default=None,
        description="Award the points as pending (an earn rule only): held back for a return "
        "window of `days` and/or until a confirming event. None: available at once.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> "Rule":
        problems = list(_rule_problems(self))
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _rule_problems(rule: Rule) -> Iterator[str]:
    yield from _points_problems(rule)
    if rule.valid_from and rule.valid_until and rule.valid_from >= rule.valid_until:
        yield "valid_from: must be before valid_until"
    if rule.default and (rule.conditions or rule.streak or rule.trigger != "event"):
        yield "default: a default rule has no conditions, no streak and is event-triggered"
    if rule.trigger == "api" and not rule.authorised_clients:
        yield "authorised_clients: an API-triggered rule needs at least one authorised client"
    if rule.trigger == "event" and rule.authorised_clients:
        yield "authorised_clients: only API-triggered rules have authorised clients"
    if rule.streak is not None and (rule.kind != "earn" or rule.trigger != "event"):
        yield "streak: only event-triggered earn rules can have a streak"
    if rule.pending is not None and rule.kind != "earn":
        yield "pending: only earn rules award pending points"
    if rule.pending is not None and rule.pending.until_event == rule.event_type:
        yield "pending.until_event: an event cannot confirm awards of its own event type"


def _points_problems(rule: Rule) -> Iterator[str]:
    if rule.points_type in ("fixed", "per_unit") and rule.points <= 0:
        yield f"points: must be greater than 0 for points_type '{rule.points_type}'"
    if (rule.points_type == "per_unit") != (rule.unit_field is not None):
        yield "unit_field: required for points_type 'per_unit' and only for it"
    if (rule.points_type == "external") != (rule.external is not None):
        yield "external: required for points_type 'external' and only for it"


class BudgetSettings(_Frozen):
    """`funded`: points are issued from a budget account the ledger keeps from going negative;
    `unfunded`: issuance is unbounded. `award_points_max` bounds any single award so that a
    misconfigured per-unit rule cannot book an absurd amount."""

    mode: Literal["funded", "unfunded"] = Field(
        default="unfunded",
        description="`funded`: awards are refused (412) once the budget account is empty; "
        "`unfunded`: the budget's negative balance is the points outstanding.",
    )
    award_points_max: PositivePoints = Field(
        default=1_000_000_000, description="The most points any single award may book."
    )


class PointsExpiry(_Frozen):
    """When earned points expire (docs/programme-file.md, "Points expiry"). Every credit to a
    user is a lot with the date it expires on; every debit takes the earliest-expiring lots
    first; at the programme's local midnight the due lots expire, each once."""

    policy: Literal["never", "days_after_earning", "end_of_period"] = Field(
        default="never",
        description="`never`; `days_after_earning`: at the local midnight `days` days after "
        "the day the points were earned (earned on 1 March with 30 days: they expire at 00:00 "
        "on 31 March); `end_of_period`: at the end of the `period` (month, quarter or year) "
        "that holds the day `after_months` months after earning. A lot keeps the date it was "
        "earned with when the policy changes later.",
    )
    days: Annotated[int, Field(ge=1, le=36_600)] | None = Field(
        default=None, description="For `days_after_earning`: how many days."
    )
    period: Literal["month", "quarter", "year"] | None = Field(
        default=None, description="For `end_of_period`: the calendar period that ends."
    )
    after_months: Annotated[int, Field(ge=0, le=1_200)] | None = Field(
        default=None,
        description="For `end_of_period`: months from earning to the period that ends (0: the "
        "earning day's own period).",
    )
    notice_days: Annotated[int, Field(ge=0, le=366)] = Field(
        default=7,
        description="The `points.expiring` webhook goes out this many days before points "
        "expire (0: none).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> "PointsExpiry":
        needed = {
            "never": (),
            "days_after_earning": ("days",),
            "end_of_period": ("period", "after_months"),
        }[self.policy]
        given = {
            name for name in ("days", "period", "after_months") if getattr(self, name) is not None
        }
        missing = sorted(set(needed) - given)
        extra = sorted(given - set(needed))
        if missing:
            raise ValueError(f"policy '{self.policy}' needs {', '.join(missing)}")
        if extra:
            raise ValueError(f"policy '{self.policy}' takes no {', '.join(extra)}")
        return self


class ReturnSettings(_Frozen):
    """What a return does when the user has already spent the points it takes back."""

    spent_points: Literal["shortfall", "negative_balance"] = Field(
        default="shortfall",
        description="`shortfall`: take what the balance holds and record the rest as the "
        "return's shortfall (the balance never goes below zero); `negative_balance`: take it "
        "all, leaving a negative balance that later earnings repay first.",
    )


class TierPolicy(_Frozen):
    """Tiers that follow the points earned (docs/programme-file.md, "Tiers from points")."""

    basis: Literal["rolling_months", "lifetime"] = Field(
        default="rolling_months",
        description="What a tier's `threshold_points` is compared with: the points earned in "
        "the last `window_months` local calendar months (the current month included; a review "
        "at midnight counts the months up to the day before), or all points ever earned. "
        "Earned: credited by earn rules, multipliers included; redemptions do not lower it.",
    )
    window_months: Annotated[int, Field(ge=1, le=120)] | None = Field(
        default=None, description="For `rolling_months`: how many months."
    )
    period_months: Annotated[int, Field(ge=1, le=120)] = Field(
        default=12,
        description="How long a tier above the default lasts once reached, by points or by "
        "hand, before it is reviewed (at the local midnight that many months after the day it "
        "was reached); a review that finds the points still there starts a new period.",
    )
    downgrade: Literal["never", "period_end", "one_tier", "grace"] = Field(
        default="period_end",
        description="What a review does when the points no longer reach the tier: `never` "
        "(tiers only go up; a tier set by hand stays until the points or a hand raise it); "
        "`period_end`: the tier the points reach; `one_tier`: the next tier down; `grace`: "
        "nothing for `grace_days` more, then the tier the points reach.",
    )
    grace_days: Annotated[int, Field(ge=1, le=366)] | None = Field(
        default=None, description="For `grace`: the days of grace after the period ends."
    )

    @model_validator(mode="after")
    def _consistent(self) -> "TierPolicy":
        if (self.basis == "rolling_months") != (self.window_months is not None):
            raise ValueError("window_months is needed for rolling_months, and only for it")
        if (self.downgrade == "grace") != (self.grace_days is not None):
            raise ValueError("grace_days is needed for the grace downgrade, and only for it")
        return self


class ProgrammeConfig(_Frozen):
    """One programme: its partners, event types, rules and tiers, as one versioned snapshot."""

    programme_id: Identifier = Field(
        description="The programme's id, in every API key, event and ledger account of it."
    )
    version: Annotated[int, Field(ge=1)] = Field(
        description="Raise it with every change: a changed file with the stored version is "
        "refused; decisions record the version they used."
    )
    name: str | None = Field(default=None, description="For people; defaults to the id.")
    environment: Literal["production", "staging"] = Field(
        default="production",
        description="Staging programmes are separate programmes, reached only by staging keys.",
    )
    time_zone: str = Field(
        default="UTC",
        description="IANA time zone of the programme's calendar: caps, calendar frequencies and "
        "daily streaks count local days, weeks and months.",
    )
    rounding: Rounding = Field(
        default="floor",
        description="Never award a fraction the user has not fully earned (1 point per whole GHS).",
    )
    budget: BudgetSettings = Field(
        default=BudgetSettings(), description="Where awarded points come from."
    )
    event_time: EventTimePolicy = Field(
        default=EventTimePolicy(),
        description="How far from the moment of receipt an event may be dated (`occurred_at`): "
        "outside it the partner API answers 400 and the processors dead-letter a record produced "
        "straight to events.v1 (`occurred_at_out_of_bounds`); imported history is exempt.",
    )
    points_expiry: PointsExpiry = Field(
        default=PointsExpiry(),
        description="When earned points expire; by default they never do.",
    )
    returns: ReturnSettings = Field(
        default=ReturnSettings(),
        description="How returns (event types with `returns`) treat points already spent.",
    )
    tiers: tuple[Tier, ...] = Field(
        default=(Tier(name="Base"),), description="At least one; names are unique."
    )
    default_tier: Identifier = Field(
        default="Base", description="One of `tiers`: every user's tier until one is assigned."
    )
    tier_policy: TierPolicy | None = Field(
        default=None,
        description="Tiers from points: thresholds, their window and the downgrade policy. "
        "None (the default): tiers are only set by hand (`tier.assigned`).",
    )
    partners: tuple[Partner, ...] = Field(default=(), description="Ids are unique.")
    api_clients: tuple[ApiClient, ...] = Field(
        default=(), description="Clients that may trigger API rules; ids are unique."
    )
    event_types: tuple[EventType, ...] = Field(
        default=(), description="Every event type partners and rules name; names are unique."
    )
    rules: tuple[Rule, ...] = Field(default=(), description="Ids are unique.")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone '{name}'") from exc
        return name

    @model_validator(mode="after")
    def _consistent(self) -> "ProgrammeConfig":
        problems = [*_registry_problems(self), *_all_rule_problems(self)]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def partner(self, partner_id: str) -> Partner | None:
        return next((p for p in self.partners if p.partner_id == partner_id), None)

    def rule(self, rule_id: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.rule_id == rule_id), None)

    def event_type(self, name: str) -> EventType | None:
        return next((e for e in self.event_types if e.name == name), None)


def _duplicates(names: Iterable[str]) -> list[str]:
    return sorted(name for name, count in Counter(names).items() if count > 1)


def _registry_problems(config: ProgrammeConfig) -> Iterator[str]:
    for field, names in (
        ("tiers", (t.name for t in config.tiers)),
        ("partners", (p.partner_id for p in config.partners)),
        ("api_clients", (c.client_id for c in config.api_clients)),
        ("event_types", (e.name for e in config.event_types)),
        ("rules", (r.rule_id for r in config.rules)),
    ):
        duplicates = _duplicates(names)
        if duplicates:
            yield f"{field}: duplicate ids {duplicates}"
    if not config.tiers:
        yield "tiers: at least one tier is required"
    if config.default_tier not in {t.name for t in config.tiers}:
        yield f"default_tier: '{config.default_tier}' is not one of the tiers"
    yield from _threshold_problems(config)
    declared = {e.name for e in config.event_types}
    for index, partner in enumerate(config.partners):
        for name in partner.allowed_event_types:
            if name not in declared:
                yield (
                    f"partners[{index}].allowed_event_types: '{name}' is not a declared event type"
                )


def _threshold_problems(config: ProgrammeConfig) -> Iterator[str]:
    with_threshold = [t for t in config.tiers if t.threshold_points is not None]
    if config.tier_policy is None:
        if with_threshold:
            yield f"tiers: threshold_points ({with_threshold[0].name}) needs a tier_policy"
        return
    without = [t.name for t in config.tiers if t.threshold_points is None]
    if without:
        yield f"tiers: with a tier_policy every tier needs threshold_points; missing for {without}"
        return
    thresholds = [t.threshold_points for t in config.tiers]
    if len(set(thresholds)) != len(thresholds):
        yield "tiers: two tiers have the same threshold_points"
    default = next((t for t in config.tiers if t.name == config.default_tier), None)
    if default is not None and default.threshold_points != 0:
        yield f"tiers: the default tier '{default.name}' needs threshold_points 0"


def _all_rule_problems(config: ProgrammeConfig) -> Iterator[str]:
    clients = {c.client_id for c in config.api_clients}
    for index, rule in enumerate(config.rules):
        where = f"rules[{index}] ({rule.rule_id})"
        event_type = config.event_type(rule.event_type)
        if event_type is None:
            yield f"{where}.event_type: '{rule.event_type}' is not a declared event type"
            continue
        yield from _condition_problems(where, rule, event_type)
        yield from _unit_field_problems(where, rule, event_type)
        until = None if rule.pending is None else rule.pending.until_event
        if until is not None and config.event_type(until) is None:
            yield f"{where}.pending.until_event: '{until}' is not a declared event type"
        for client in rule.authorised_clients:
            if client not in clients:
                yield f"{where}.authorised_clients: '{client}' is not a declared api client"
    yield from _per_event_type_problems(config)
    yield from _return_problems(config)


def _condition_problems(where: str, rule: Rule, event_type: EventType) -> Iterator[str]:
    for index, condition in enumerate(rule.conditions):
        at = f"{where}.conditions[{index}]"
        parameter = event_type.parameter(condition.parameter)
        if parameter is None:
            yield (
                f"{at}.parameter: '{condition.parameter}' is not a parameter of '{event_type.name}'"
            )
            continue
        if condition.operator not in OPERATORS_BY_TYPE[parameter.type]:
            yield (
                f"{at}.operator: '{condition.operator}' does not apply to {parameter.type} "
                f"parameter '{parameter.name}'"
            )
            continue
        problem = _value_problem(condition, parameter.type)
        if problem:
            yield f"{at}.value: {problem}"


def _value_problem(condition: Condition, param_type: str) -> str | None:
    value = condition.value
    if condition.operator in VALUELESS_OPERATORS:
        return None if value is None else f"'{condition.operator}' takes no value"
    fits = {
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, int | float) and not isinstance(value, bool),
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
    }[param_type]
    return None if fits else f"{value!r} is not a {param_type} value"


def _unit_field_problems(where: str, rule: Rule, event_type: EventType) -> Iterator[str]:
    if rule.unit_field is None:
        return
    parameter = event_type.parameter(rule.unit_field)
    if parameter is None:
        yield f"{where}.unit_field: '{rule.unit_field}' is not a parameter of '{event_type.name}'"
    elif parameter.type not in ("integer", "float"):
        yield f"{where}.unit_field: '{rule.unit_field}' is {parameter.type}, not numeric"
    elif not parameter.mandatory:
        yield f"{where}.unit_field: '{rule.unit_field}' must be a mandatory parameter"


def _per_event_type_problems(config: ProgrammeConfig) -> Iterator[str]:
    # Ended rules are history: a new rule may take over their priority or the default slot.
    ordinary = [
        r for r in config.rules if r.trigger == "event" and r.streak is None and r.status != "ended"
    ]
    defaults = Counter(r.event_type for r in ordinary if r.default)
    for name, count in sorted(defaults.items()):
        if count > 1:
            yield f"rules.default: event type '{name}' has {count} default rules, at most 1"
    priorities = Counter((r.event_type, r.priority) for r in ordinary if not r.default)
    for (name, priority), count in sorted(priorities.items()):
        if count > 1:
            yield f"rules.priority: {count} rules of event type '{name}' share priority {priority}"
    streaks = Counter(r.event_type for r in config.rules if r.streak is not None)
    for name, count in sorted(streaks.items()):
        if count > STREAK_RULES_PER_EVENT_TYPE_MAX:
            yield (
                f"rules.streak: event type '{name}' has {count} streak rules, "
                f"at most {STREAK_RULES_PER_EVENT_TYPE_MAX}"
            )


def _return_problems(config: ProgrammeConfig) -> Iterator[str]:
    returns = {e.name for e in config.event_types if e.returns is not None}
    for rule in config.rules:
        if rule.event_type in returns:
            yield f"rules ({rule.rule_id}): '{rule.event_type}' is a return type, it has no rules"
    for event_type in config.event_types:
        if event_type.returns is not None:
            yield from _return_type_problems(config, event_type, event_type.returns, returns)


def _return_type_problems(
    config: ProgrammeConfig, event_type: EventType, spec: ReturnOf, returns: set[str]
) -> Iterator[str]:
    where = f"event_types ({event_type.name}).returns"
    reference = event_type.parameter(RETURN_REFERENCE_PARAMETER)
    if reference is None or reference.type != "string" or not reference.mandatory:
        yield f"{where}: declare '{RETURN_REFERENCE_PARAMETER}' as a mandatory string parameter"
    own = event_type.parameter(spec.field)
    if own is None or own.type not in ("integer", "float") or not own.mandatory:
        yield f"{where}.field: '{spec.field}' must be a mandatory numeric parameter"
    for name in spec.event_types:
        original = config.event_type(name)
        if original is None:
            yield f"{where}.event_types: '{name}' is not a declared event type"
        elif name in returns:
            yield f"{where}.event_types: '{name}' is a return type itself"
        else:
            parameter = original.parameter(spec.field)
            if parameter is None or parameter.type not in ("integer", "float"):
                yield f"{where}.field: '{spec.field}' is not a numeric parameter of '{name}'"

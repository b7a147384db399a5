"""The chaos programme: caps, a frequency limit, a streak, a per-unit rule awarding pending points
and a rule budget, each rule on an event type of its own (but the streak, which counts the
logins), so that the checks can hold every rule to its limit from the ledger's entries alone.

A purchase's points are pending for a return window of PENDING_DAYS, or until a delivery event
names the purchase (`metadata.original_reference_id`), whichever comes first; the delivery
itself earns nothing."""

from schemas.programme import ProgrammeConfig

PROGRAMME_ID = "chaos"
PARTNER_ID = "chaos-partner"
READ_POINTS = 4
READ_DAILY_CAP = 10
LOGIN_POINTS = 5
STREAK_POINTS = 50
STREAK_DAYS = 3
BONUS_POINTS = 7
BUDGETED_RULE = "bonus"
PENDING_RULE = "buy"
PENDING_DAYS = 2
CONFIRMING_TYPE = "deliver"
EVENT_TYPES = ("read", "login", "buy", "bonus", CONFIRMING_TYPE)


def config(budget_max: int) -> ProgrammeConfig:
    """`budget_max`: the bonus rule's budget over all users (the workload's share of it)."""
    return ProgrammeConfig.model_validate(
        {
            "programme_id": PROGRAMME_ID,
            "version": 1,
            "name": "Chaos run",
            "time_zone": "UTC",
            "tiers": [{"name": "Bronze", "multiplier": "1"}],
            "default_tier": "Bronze",
            "partners": [
                {
                    "partner_id": PARTNER_ID,
                    # The run measures faults, not the partner's limit (tested on its own).
                    "rate_limit_per_minute": 1_000_000,
                    "allowed_event_types": list(EVENT_TYPES),
                }
            ],
            "event_types": [
                {"name": "read"},
                {"name": "login"},
                {
                    "name": "buy",
                    "parameters": [{"name": "amount", "type": "integer", "mandatory": True}],
                },
                {"name": "bonus"},
                {"name": CONFIRMING_TYPE},
            ],
            "rules": [
                {
                    "rule_id": "read",
                    "version": 1,
                    "event_type": "read",
                    "status": "active",
                    "default": True,
                    "points": READ_POINTS,
                    "daily_cap": READ_DAILY_CAP,
                },
                {
                    "rule_id": "login",
                    "version": 1,
                    "event_type": "login",
                    "status": "active",
                    "default": True,
                    "points": LOGIN_POINTS,
                    "frequency": "daily",
                },
                {
                    "rule_id": "login-streak",
                    "version": 1,
                    "event_type": "login",
                    "status": "active",
                    "points": STREAK_POINTS,
                    "streak": {"type": "daily", "events_per_day": 1, "days": STREAK_DAYS},
                },
                {
                    "rule_id": PENDING_RULE,
                    "version": 1,
                    "event_type": "buy",
                    "status": "active",
                    "default": True,
                    "points": 1,
                    "points_type": "per_unit",
                    "unit_field": "amount",
                    "pending": {"days": PENDING_DAYS, "until_event": CONFIRMING_TYPE},
                },
                {
                    "rule_id": BUDGETED_RULE,
                    "version": 1,
                    "event_type": "bonus",
                    "status": "active",
                    "default": True,
                    "points": BONUS_POINTS,
                    "budget_max": budget_max,
                },
            ],
        }
    )

"""`reason_code`: why an event earned nothing, or less than its rule's amount. A stable, public
list: answers (`reason_code` beside a human `reason`), stored explanations and webhooks carry
these codes, and the ledger's refusals (`schemas.ledger.RejectionReason`) complete them."""

from enum import StrEnum


class ReasonCode(StrEnum):
    NO_RULE = "no_rule"
    """The event type has no rule."""
    CONDITIONS_NOT_MET = "conditions_not_met"
    """Rules exist for the event type; the event's parameters met none of their conditions."""
    OUTSIDE_WINDOW = "outside_window"
    """The rule is not valid at the event's time (before its start or after its end)."""
    DAILY_CAP = "daily_cap"
    """The rule's daily cap (points per user per event type per local day) cut the award."""
    MONTHLY_CAP = "monthly_cap"
    """The rule's monthly cap cut the award."""
    FREQUENCY = "frequency"
    """The rule's frequency limit (once, daily, weekly, monthly, once per N minutes/hours/days)."""
    BUDGET = "budget"
    """The rule's budget ("cap max", across all users) cut the award."""
    STREAK_PROGRESS = "streak_progress"
    """Counted towards a streak that is not complete yet."""
    STREAK_NOT_COUNTED = "streak_not_counted"
    """A streak rule did not count the event (late, expired or already completed)."""
    INVALID_PARAMETERS = "invalid_parameters"
    """A mandatory parameter is missing, or a parameter has the wrong type."""
    EVENT_TYPE_NOT_ALLOWED = "event_type_not_allowed"
    """The publishing partner may not publish this event type."""
    UNKNOWN_PARTNER = "unknown_partner"
    """The event names a partner the programme does not have."""
    INVALID_EVENT = "invalid_event"
    """The event cannot be decided by this programme (e.g. another programme's)."""
    INVALID_AMOUNT = "invalid_amount"
    """A per-unit value was negative, or a programmatic rule's API answered an unusable amount."""
    NOT_TRIGGERABLE = "not_triggerable"
    """An API trigger named a rule it may not run (unknown, not API-triggered, not authorised,
    not active, or another event type)."""
    TIER_ASSIGNED = "tier_assigned"
    """A `tier.assigned` record: the user's tier changed; it earns no points itself."""
    OVER_RETURN = "over_return"
    """A return: with the returns before it, more than the original's amount; nothing taken."""
    UNKNOWN_ORIGINAL = "unknown_original"
    """A return names an event the ledger has not booked for this user; nothing taken."""
    RETURN_SHORTFALL = "return_shortfall"
    """A return took less than its share: the user had spent the points, and the programme's
    `returns.spent_points` is `shortfall`."""
    TIER_REVIEWED = "tier_reviewed"
    """A `tier.review` record (the scheduler's, at the end of a tier's period): the tier policy
    kept, lowered or put in grace the user's tier; it earns no points itself."""
    DUPLICATE = "duplicate"
    """The event was already decided: the original outcome stands."""

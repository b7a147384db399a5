"""Does a rule apply to an event at all: its validity window and its conditions."""

from collections.abc import Mapping

from pydantic import JsonValue

from processors.engine.compile import CompiledRule
from processors.engine.explain import RuleTrace
from processors.engine.periods import iso_utc
from schemas.events import EventV1
from schemas.reasons import ReasonCode


def mismatch(rule: CompiledRule, metadata: Mapping[str, JsonValue], at_us: int) -> RuleTrace | None:
    """None when the rule matches, else the trace saying why it does not. For explanations:
    deciding uses `CompiledRule.matches`, built from the same predicates."""
    if not rule.valid_from_us <= at_us < rule.valid_until_us:
        return _outside(rule, at_us)
    for index, condition in enumerate(rule.conditions):
        value = metadata.get(condition.parameter)
        if not condition.test(value):
            detail = f"condition {index + 1} failed: {condition.text} (got {value!r})"
            code = ReasonCode.CONDITIONS_NOT_MET
            return RuleTrace(rule.rule_id, rule.version, "condition_failed", detail, 0, code)
    return None


def _outside(rule: CompiledRule, at_us: int) -> RuleTrace:
    if at_us < rule.valid_from_us:
        detail = f"outside validity window: starts at {iso_utc(rule.valid_from_us)}"
    else:
        detail = f"outside validity window: ended at {iso_utc(rule.valid_until_us)}"
    code = ReasonCode.OUTSIDE_WINDOW
    return RuleTrace(rule.rule_id, rule.version, "outside_window", detail, 0, code)


def api_refusal(rule: CompiledRule | None, event: EventV1) -> str | None:
    """Why an API trigger (`event.rule_id`) may not run this rule, or None when it may."""
    if rule is None:
        return f"rule '{event.rule_id}' does not exist"
    if rule.trigger != "api":
        return f"rule '{rule.rule_id}' is not API-triggered"
    if event.client_id not in rule.authorised_clients:
        return f"client '{event.client_id}' is not authorised for rule '{rule.rule_id}'"
    if rule.status != "active":
        return f"rule '{rule.rule_id}' is {rule.status}, not active"
    if rule.event_type != event.event_type:
        return f"rule '{rule.rule_id}' is for event type '{rule.event_type}'"
    return None

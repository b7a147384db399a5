"""`decide`: one event, one user's state and the programme in; points, new state and the
explanation out. A pure function of its arguments: time is the event's `occurred_at`, and
everything the engine cannot see (global rule budgets, external amounts) is an argument.
"""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from processors.engine import details
from processors.engine.compile import CompiledProgramme, CompiledRule, compile_programme
from processors.engine.conclude import concluded, duplicate, without_rules
from processors.engine.decision import Decision
from processors.engine.draft import Draft
from processors.engine.matching import api_refusal
from processors.engine.parameters import parameter_problem
from processors.engine.payment import pay
from processors.engine.returns import decide_return
from processors.engine.state import UserState
from processors.engine.streaks import advance
from processors.engine.tier_decisions import assign_tier, review_tier, with_earned
from schemas.events import EventV1
from schemas.programme import TIER_ASSIGNED_EVENT_TYPE, TIER_REVIEW_EVENT_TYPE, ProgrammeConfig
from schemas.reasons import ReasonCode

_NOTHING: Final[Mapping[str, int]] = MappingProxyType({})


def decide(
    event: EventV1,
    state: UserState,
    config: CompiledProgramme | ProgrammeConfig,
    external_points: Mapping[str, int] | None = None,
    *,
    budget_used: Mapping[str, int] | None = None,
) -> Decision:
    """Decide one event.

    `config`: pass `compile_programme(config)` once per snapshot; a raw config is compiled on
    every call. `external_points`: amounts answered by programmatic rules' APIs, by rule id (see
    `Decision.external_calls`). `budget_used`: points each rule has already awarded across all
    users, by rule id; the engine cuts awards to what is left and reports its own use in
    `Decision.budget_consumed`. Re-deciding an event id the state holds returns the original
    outcome with status "duplicate" and changes nothing.
    """
    programme = config if isinstance(config, CompiledProgramme) else compile_programme(config)
    draft = Draft(event, state, programme, external_points or _NOTHING, budget_used or _NOTHING)
    returning = programme.returns.get(event.event_type)
    record = state.applied.get(draft.event_id)
    if record is not None and returning is None:
        return duplicate(event, state, programme, record)
    problem = _event_problem(draft)
    if problem is not None:
        code, reason = problem
        return without_rules(event, state, programme, "invalid_event", reason, code)
    if returning is not None:  # the same again when redelivered: it changes no counter
        return decide_return(event, state, programme, returning)
    if draft.event_type == TIER_ASSIGNED_EVENT_TYPE:
        return assign_tier(event, state, programme)
    if draft.event_type == TIER_REVIEW_EVENT_TYPE:
        return review_tier(event, state, programme)
    if event.rule_id is None:
        _run_event_rules(draft)
    else:
        _run_api_rule(draft)
    decision = concluded(draft)
    policy = programme.tier_policy
    if policy is None or not decision.awards:
        return decision
    return with_earned(policy, decision, draft.tier, draft.day, draft.month)


def _event_problem(draft: Draft) -> tuple[ReasonCode, str] | None:
    """Why the event cannot be decided at all, with its reason code; None when it can."""
    event_type, metadata, partner_id = draft.event_type, draft.metadata, draft.partner_id
    programme, programme_id = draft.programme, draft.event.programme_id
    if programme_id != programme.programme_id:
        other = f"event is for programme '{programme_id}', not '{programme.programme_id}'"
        return ReasonCode.INVALID_EVENT, other
    if partner_id is not None:
        partner = draft.partner
        if partner is None:
            return ReasonCode.UNKNOWN_PARTNER, f"unknown partner '{partner_id}'"
        if event_type not in partner.allowed_event_types:
            refusal = f"partner '{partner_id}' may not publish '{event_type}'"
            return ReasonCode.EVENT_TYPE_NOT_ALLOWED, refusal
    check = programme.parameter_checks.get(event_type)
    if check is None or check(metadata):
        return None
    problem = parameter_problem(programme.parameters[event_type], metadata)
    return None if problem is None else (ReasonCode.INVALID_PARAMETERS, problem)


def _run_event_rules(draft: Draft) -> None:
    """The first matching ordinary rule in priority order (the default rule last) pays; every
    matching streak rule counts the event on its own, independently of that choice."""
    programme, event_type = draft.programme, draft.event_type
    metadata, at_us = draft.metadata, draft.epoch_us
    matcher = programme.matchers.get(event_type)
    if matcher is None:
        rules: tuple[CompiledRule, ...] = ()
        tried = 0
    else:
        rules = programme.ordinary_rules[event_type]
        tried = matcher(metadata, at_us)
    if tried:  # one fact for all the rules that did not match, rendered together
        draft.facts.append((details.mismatches, rules, tried, metadata, at_us))
    if tried < len(rules):
        pay(rules[tried], draft)
    for rule in programme.streak_rules.get(event_type, ()):
        _count_streak(rule, draft)


def _count_streak(rule: CompiledRule, draft: Draft) -> None:
    matches = rule.matches
    if matches is not None and not matches(draft.metadata, draft.epoch_us):
        draft.facts.append((details.mismatches, (rule,), 1, draft.metadata, draft.epoch_us))
        return
    progress, completed, why_not = advance(
        rule, draft.streaks.get(rule.rule_id), draft.epoch_us, draft.day
    )
    if progress is None:
        draft.facts.append((details.not_counted, rule, why_not))
        return
    draft.set_streak(rule.rule_id, progress)
    if completed:
        pay(rule, draft, progress)
    else:
        draft.facts.append((details.streak_progress, rule, progress))


def _run_api_rule(draft: Draft) -> None:
    event = draft.event
    rule = draft.programme.rules_by_id.get(event.rule_id or "")
    refusal = api_refusal(rule, event)
    if rule is None or refusal is not None:
        draft.facts.append(
            (details.traced, event.rule_id or "", 0 if rule is None else rule.version,
             "not_triggerable", refusal or "")
        )  # fmt: skip
        return
    matches = rule.matches
    if matches is None or matches(draft.metadata, draft.epoch_us):
        pay(rule, draft)
    else:
        draft.facts.append((details.mismatches, (rule,), 1, draft.metadata, draft.epoch_us))

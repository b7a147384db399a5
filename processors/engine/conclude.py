"""Turning a finished draft into a `Decision`, and remembering it in the user's state."""

from collections.abc import Mapping

from processors.engine.compile import CompiledProgramme
from processors.engine.decision import Decision, DecisionStatus
from processors.engine.draft import Draft
from processors.engine.explain import Explanation, RuleTrace
from processors.engine.state import AppliedRecord, UserState
from schemas.events import EventV1

_NOT_MATCHED = frozenset({"condition_failed", "outside_window", "not_triggerable"})


def concluded(
    event: EventV1, programme: CompiledProgramme, draft: Draft, tier: str | None
) -> Decision:
    traces = tuple(draft.traces)
    if draft.external_calls:
        return _needs_external(event, programme, draft, traces, tier)
    awards = tuple(draft.awards)
    status: DecisionStatus = "awarded" if awards else "no_points"
    reason = None if awards else _no_points_reason(event, traces)
    explanation = Explanation(programme.version, event.event_type, tier, status, reason, traces)
    points = 0
    for award in awards:  # a loop, not sum(generator): this runs for every event
        points += award.points if award.kind == "earn" else -award.points
    record = AppliedRecord(status, points, awards, reason, explanation)
    applied = remembered(draft.state.applied, event.event_id, record)
    state = draft.new_state(programme, applied)
    return Decision(
        event.event_id, status, points, awards, state, explanation, reason, (),
        draft.budget_consumed,
    )  # fmt: skip


def _needs_external(
    event: EventV1,
    programme: CompiledProgramme,
    draft: Draft,
    traces: tuple[RuleTrace, ...],
    tier: str | None,
) -> Decision:
    # Nothing is applied yet: the state is returned unchanged and the event id is not recorded,
    # so the second call, with the amounts, starts from exactly the same inputs.
    reason = "programmatic rule: waiting for the external amount"
    status: DecisionStatus = "needs_external_points"
    explanation = Explanation(programme.version, event.event_type, tier, status, reason, traces)
    calls = tuple(draft.external_calls)
    return Decision(event.event_id, status, 0, (), draft.state, explanation, reason, calls)


def _no_points_reason(event: EventV1, traces: tuple[RuleTrace, ...]) -> str:
    if not traces:
        return f"no rule for event type '{event.event_type}'"
    decisive = next((t for t in traces if t.outcome not in _NOT_MATCHED), None)
    if decisive is None:
        return "no rule matched" if len(traces) > 1 else traces[0].detail
    return f"rule '{decisive.rule_id}': {decisive.detail}"


def without_rules(
    event: EventV1,
    state: UserState,
    programme: CompiledProgramme,
    status: DecisionStatus,
    reason: str,
) -> Decision:
    """A decision no rule took part in: invalid events and tier assignments."""
    explanation = Explanation(programme.version, event.event_type, state.tier, status, reason, ())
    record = AppliedRecord(status, 0, (), reason, explanation)
    return Decision(
        event.event_id,
        status,
        0,
        (),
        with_applied(state, event.event_id, record),
        explanation,
        reason,
    )


def duplicate(event: EventV1, state: UserState, record: AppliedRecord) -> Decision:
    """The original outcome again; nothing changes and no budget is consumed a second time."""
    explanation = record.explanation
    if not isinstance(explanation, Explanation):
        explanation = Explanation.from_dict(explanation)
    return Decision(
        event.event_id, "duplicate", record.points, record.awards, state, explanation, record.reason
    )


def with_applied(state: UserState, event_id: str, record: AppliedRecord) -> UserState:
    applied = remembered(state.applied, event_id, record)
    return UserState(state.tier, state.caps, state.marks, state.streaks, applied)


def remembered(
    applied: Mapping[str, AppliedRecord], event_id: str, record: AppliedRecord
) -> dict[str, AppliedRecord]:
    """`applied` plus `event_id`, keeping only the newest `UserState.APPLIED_MAX` records."""
    result = {**applied, event_id: record}
    if len(result) > UserState.APPLIED_MAX:  # one new id: at most one to drop, the oldest
        del result[next(iter(result))]
    return result

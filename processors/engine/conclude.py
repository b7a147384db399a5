"""Turning a finished draft into a `Decision`, and remembering it in the user's state."""

from collections.abc import Mapping

from processors.engine.amounts import returned_amount
from processors.engine.applied import AppliedWindow
from processors.engine.compile import CompiledProgramme
from processors.engine.decision import Decision, DecisionStatus
from processors.engine.draft import Draft
from processors.engine.explain import PENDING_REASON, Explanation, RuleTrace
from processors.engine.outcomes import Award
from processors.engine.periods import epoch_us
from processors.engine.returnable import with_award
from processors.engine.state import (
    APPLIED_MAX,
    AppliedRecord,
    PendingRecord,
    ReturnableRecord,
    UserState,
    applied_outcome,
    awards_record,
    reason_record,
)
from schemas.events import EventV1
from schemas.reasons import ReasonCode


def concluded(draft: Draft) -> Decision:
    event_id, programme = draft.event_id, draft.programme
    if draft.external_calls:
        return _needs_external(draft)
    awards = tuple(draft.awards)
    status: DecisionStatus = "awarded" if awards else "no_points"
    # The reason (the decisive rule without awards, the cuts with them) and its code are
    # derived from the traces when read.
    explanation = Explanation(
        programme.version, draft.event_type, draft.tier, status, PENDING_REASON, None, draft.facts
    )
    record: AppliedRecord
    returnable = None
    if awards:
        points, record = awards_record(awards, draft.epoch_us)
        field = programme.returnable.get(draft.event_type)
        if field is not None:
            returnable = _with_returnable(draft, field, awards)
    else:
        points, record = 0, PendingRecord(explanation)
    state = draft.new_state(remembered(draft.state.applied, event_id, record), returnable)
    return Decision(event_id, status, points, awards, state, explanation, (), draft.budget_consumed)


def _with_returnable(
    draft: Draft, field: str, awards: tuple[Award, ...]
) -> dict[str, ReturnableRecord] | None:
    """The user's returnable records with this award's (`returnable`), None when unchanged."""
    amount = returned_amount(draft.metadata.get(field))
    if amount is None:
        return None
    event_type, programme = draft.event_type, draft.programme
    at = (draft.day, draft.month, event_type, amount)
    capped = event_type in programme.capped_types
    kept = draft.state.returnable
    returnable = with_award(kept, draft.event_id, at, awards, draft.budget_consumed, capped)
    return None if returnable is kept else returnable


def _needs_external(draft: Draft) -> Decision:
    # Nothing is applied yet: the state is returned unchanged and the event id is not recorded,
    # so the second call, with the amounts, starts from exactly the same inputs.
    event = draft.event
    reason = "programmatic rule: waiting for the external amount"
    status: DecisionStatus = "needs_external_points"
    explanation = Explanation(
        draft.programme.version,
        event.event_type,
        draft.tier,
        status,
        reason,
        None,
        draft.facts,
        reason_code=None,
    )
    calls = draft.external_calls
    return Decision(event.event_id, status, 0, (), draft.state, explanation, calls)


def without_rules(
    event: EventV1,
    state: UserState,
    programme: CompiledProgramme,
    status: DecisionStatus,
    reason: str,
    reason_code: ReasonCode,
) -> Decision:
    """A decision no rule took part in: invalid events."""
    explanation = Explanation(
        programme.version, event.event_type, state.tier, status, reason, (), reason_code=reason_code
    )
    new_state = with_applied(state, event.event_id, reason_record(status, reason))
    return Decision(event.event_id, status, 0, (), new_state, explanation)


def duplicate(
    event: EventV1, state: UserState, programme: CompiledProgramme, record: AppliedRecord
) -> Decision:
    """The original awards and points again, so the ledger command books exactly what it booked
    the first time (and the ledger finds it already booked), the original's time included when
    this event's differs (racing retries the gateway stamped apart); nothing changes and no
    budget is consumed a second time. The explanation names the original outcome: its full
    explanation is not kept (the ledger stored it with the first command)."""
    original = applied_outcome(record)
    awards = original.awards
    summary = ", ".join(
        f"{a.kind} {a.points} by rule {a.rule_id} v{a.rule_version}" for a in awards
    )
    reason = (
        f"duplicate of event '{event.event_id}', already applied: {original.status}, "
        f"{original.points} points; {summary or original.reason}"
    )
    traces = tuple(
        RuleTrace(a.rule_id, a.rule_version, "awarded", "booked by the original decision", a.points)
        for a in awards
    )
    explanation = Explanation(
        programme.version, event.event_type, state.tier, "duplicate", reason, traces
    )
    decision = Decision(event.event_id, "duplicate", original.points, awards, state, explanation)
    original_us = original.occurred_at_us
    if original_us is not None and original_us != epoch_us(event.occurred_at):
        decision.original_occurred_at_us = original_us
    return decision


def with_applied(state: UserState, event_id: str, record: AppliedRecord) -> UserState:
    applied = remembered(state.applied, event_id, record)
    return UserState(
        state.tier, state.caps, state.marks, state.streaks, applied, state.tiering,
        state.returnable,
    )  # fmt: skip


def remembered(
    applied: Mapping[str, AppliedRecord], event_id: str, record: AppliedRecord
) -> AppliedWindow[AppliedRecord]:
    """`applied` plus `event_id`, keeping only the newest `APPLIED_MAX` records."""
    if type(applied) is not AppliedWindow:  # a state built by hand with a plain dict
        applied = AppliedWindow.of(APPLIED_MAX, applied)
    return applied.with_entry(event_id, record)

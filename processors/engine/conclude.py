"""Turning a finished draft into a `Decision`, and remembering it in the user's state."""

from collections.abc import Mapping

from processors.engine.applied import AppliedWindow
from processors.engine.compile import CompiledProgramme
from processors.engine.decision import Decision, DecisionStatus
from processors.engine.draft import Draft
from processors.engine.explain import PENDING_REASON, Explanation
from processors.engine.state import AppliedRecord, RawRecord, UserState, decoded
from schemas.events import EventV1


def concluded(draft: Draft) -> Decision:
    event, programme = draft.event, draft.programme
    if draft.external_calls:
        return _needs_external(draft)
    awards = tuple(draft.awards)
    status: DecisionStatus = "awarded" if awards else "no_points"
    # Without awards the reason names the decisive rule: derived from the traces when read.
    reason = None if awards else PENDING_REASON
    explanation = Explanation(
        programme.version, event.event_type, draft.tier, status, reason, None, draft.facts
    )
    points = 0
    for award in awards:  # a loop, not sum(generator): this runs for every event
        points += award.points if award.kind == "earn" else -award.points
    record = AppliedRecord(points, awards, explanation)
    state = draft.new_state(remembered(draft.state.applied, event.event_id, record))
    return Decision(
        event.event_id, status, points, awards, state, explanation, (), draft.budget_consumed
    )


def _needs_external(draft: Draft) -> Decision:
    # Nothing is applied yet: the state is returned unchanged and the event id is not recorded,
    # so the second call, with the amounts, starts from exactly the same inputs.
    event = draft.event
    reason = "programmatic rule: waiting for the external amount"
    status: DecisionStatus = "needs_external_points"
    explanation = Explanation(
        draft.programme.version, event.event_type, draft.tier, status, reason, None, draft.facts
    )
    calls = draft.external_calls
    return Decision(event.event_id, status, 0, (), draft.state, explanation, calls)


def without_rules(
    event: EventV1,
    state: UserState,
    programme: CompiledProgramme,
    status: DecisionStatus,
    reason: str,
) -> Decision:
    """A decision no rule took part in: invalid events and tier assignments."""
    explanation = Explanation(programme.version, event.event_type, state.tier, status, reason, ())
    record = AppliedRecord(0, (), explanation)
    new_state = with_applied(state, event.event_id, record)
    return Decision(event.event_id, status, 0, (), new_state, explanation)


def duplicate(event: EventV1, state: UserState, record: AppliedRecord | RawRecord) -> Decision:
    """The original outcome again; nothing changes and no budget is consumed a second time."""
    if not isinstance(record, AppliedRecord):
        record = decoded(record)
    return Decision(
        event.event_id, "duplicate", record.points, record.awards, state, record.explanation
    )


def with_applied(state: UserState, event_id: str, record: AppliedRecord) -> UserState:
    applied = remembered(state.applied, event_id, record)
    return UserState(state.tier, state.caps, state.marks, state.streaks, applied)


def remembered(
    applied: Mapping[str, AppliedRecord | RawRecord], event_id: str, record: AppliedRecord
) -> AppliedWindow[AppliedRecord | RawRecord]:
    """`applied` plus `event_id`, keeping only the newest `UserState.APPLIED_MAX` records."""
    if not isinstance(applied, AppliedWindow):  # a state built by hand with a plain dict
        applied = AppliedWindow.of(UserState.APPLIED_MAX, applied)
    return applied.with_entry(event_id, record)

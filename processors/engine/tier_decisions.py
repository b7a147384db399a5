"""The decisions that change a user's tier: the upgrade after an event that crossed a threshold,
a `tier.assigned` record (by hand) and a `tier.review` record (the scheduler's, at the start of a
local day). Each records what it did in the explanation's `tier_change`, which the ledger stores
(`ledger.tier_changes`) and announces (`tier.changed` webhook)."""

from processors.engine.compile import CompiledProgramme
from processors.engine.conclude import with_applied, without_rules
from processors.engine.decision import Decision
from processors.engine.explain import Explanation
from processors.engine.outcomes import Award
from processors.engine.state import UserState, reason_record
from processors.engine.tiering import (
    BUCKETS,
    MANUAL,
    NOT_DUE,
    REVIEW_DAY,
    CompiledTierPolicy,
    TierChange,
    after_earning,
    assigned,
    reviewed,
)
from schemas.events import EventV1
from schemas.reasons import ReasonCode


def with_earned(
    policy: CompiledTierPolicy, decision: Decision, tier: str, day: int, month: int
) -> Decision:
    """The decision with its earnings counted towards the tier (the event was decided at
    `tier`: the new multiplier applies from the next event)."""
    points = _earned(decision.awards)
    if points == 0:
        return decision
    state = decision.state
    new_tier, progress, change = after_earning(policy, tier, state.tiering, day, month, points)
    decision.state = _with_tier(state, new_tier if change else state.tier, progress)
    if change is not None:
        decision.explanation.tier_change = change.to_dict()
    return decision


def assign_tier(event: EventV1, state: UserState, programme: CompiledProgramme) -> Decision:
    tier = event.metadata.get("tier")
    if not isinstance(tier, str) or tier not in programme.tiers:
        reason = f"unknown tier {tier!r}; tiers are {sorted(programme.tiers)}"
        code = ReasonCode.INVALID_PARAMETERS
        return without_rules(event, state, programme, "invalid_event", reason, code)
    previous = _current(state, programme)
    policy, progress = programme.tier_policy, state.tiering
    if policy is None:
        change = TierChange(previous, tier, MANUAL, 0)
    else:
        _, day, _ = programme.calendar.periods(event.occurred_at)
        progress, change = assigned(policy, previous, tier, progress, day)
    reason = f"tier set to '{tier}'"
    return _tier_decision(
        event, state, programme, tier, progress, change, reason, ReasonCode.TIER_ASSIGNED
    )


def review_tier(event: EventV1, state: UserState, programme: CompiledProgramme) -> Decision:
    """The review of the local day `occurred_at` falls on: changes nothing unless the user's
    tier is due (so a duplicate, a replay or a second scheduler run changes nothing twice)."""
    current = _current(state, programme)
    policy = programme.tier_policy
    change = None
    progress = state.tiering
    if policy is not None:
        _, day, _ = programme.calendar.periods(event.occurred_at)
        current, progress, change = reviewed(policy, current, progress, day)
    elif progress is not None:  # the policy was removed: tiers are set by hand from now on
        progress = [0, 0, *progress[BUCKETS:]]
    tier = state.tier
    if change is None:
        reason = "tier review: nothing due"
        if progress is not None:
            change = TierChange(current, current, NOT_DUE, progress[REVIEW_DAY])
    else:
        tier = current
        kept = change.tier == change.previous
        reason = (
            f"tier review: '{current}' kept ({change.reason})"
            if kept
            else f"tier review: '{change.previous}' to '{current}' ({change.reason})"
        )
    return _tier_decision(
        event, state, programme, tier, progress, change, reason, ReasonCode.TIER_REVIEWED
    )


def _tier_decision(
    event: EventV1,
    state: UserState,
    programme: CompiledProgramme,
    tier: str | None,
    progress: list[int] | None,
    change: TierChange | None,
    reason: str,
    code: ReasonCode,
) -> Decision:
    explanation = Explanation(
        programme.version, event.event_type, tier, "no_points", reason, (), reason_code=code
    )
    if change is not None:
        explanation.tier_change = change.to_dict()
    new_state = _with_tier(
        with_applied(state, event.event_id, reason_record("no_points", reason)), tier, progress
    )
    return Decision(event.event_id, "no_points", 0, (), new_state, explanation)


def _current(state: UserState, programme: CompiledProgramme) -> str:
    # A tier the configuration no longer has counts as the default tier (as in `Draft`).
    tier = state.tier
    return tier if tier is not None and tier in programme.tiers else programme.default_tier


def _with_tier(state: UserState, tier: str | None, progress: list[int] | None) -> UserState:
    return UserState(
        tier, state.caps, state.marks, state.streaks, state.applied, progress, state.returnable
    )


def _earned(awards: tuple[Award, ...]) -> int:
    points = 0
    for award in awards:
        if award.kind == "earn":
            points += award.points
    return points

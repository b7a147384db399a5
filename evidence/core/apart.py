"""Deciding an event once for both arms of a replay when the arms' states for its user differ,
but only where the event's decision does not look (`evidence.core.replay`).

A candidate that changes one rule's points gives its users other cap counters and other applied
records from that rule's first award on; before this, every later event of such a user was
decided twice, though nearly none of them reads what differs. What a decision of an event of
type T (alike in both arms, `evidence.core.alike`; not a return type, not a rule triggered by
its id, not a redelivery) reads of the user's state: the tier, the tier progress, the frequency
marks and streaks (of T's rules), the cap counter of T (`Draft.cap_counter`), the returnable records
(`processors.engine.returnable`), and whether the event id is among the applied ones (the keys,
not the records: only a redelivery or a return reads a record). And it writes only those, T's
cap counter and one new applied record.

So when the arms' states are equal but for the applied records' contents and the cap counters
of some event types (`Apart.types`), an event of another type gets the current arm's decision
in both arms, and the candidate's new state is the current arm's new one with the candidate's
own cap counters of those types and its own applied records plus the event's record
(`candidate_state`). The types that differ stay the same until the arms decide an event apart
again, when they are worked out anew (`apart`)."""

from typing import Final, NamedTuple

from processors.engine import UserState
from processors.engine.conclude import remembered


class Apart(NamedTuple):
    """Two states equal but for their applied records' contents and the cap counters of
    `types` (whose counters differ, or one of the states has none)."""

    types: frozenset[str]


SAME_BUT_RECORDS: Final = Apart(frozenset())


def apart(current: UserState, candidate: UserState) -> Apart | None:
    """How `candidate` differs from `current` when only in what `Apart` allows; else None."""
    if (
        current.tier != candidate.tier
        or current.tiering != candidate.tiering
        or current.marks != candidate.marks
        or current.streaks != candidate.streaks
        or current.returnable != candidate.returnable
    ):
        return None
    mine, theirs = current.applied, candidate.applied
    if len(mine) != len(theirs) or list(mine) != list(theirs):  # one arm waited for an amount
        return None
    caps, other = current.caps, candidate.caps
    if caps == other:
        return SAME_BUT_RECORDS
    differ = {key for key in caps.keys() | other.keys() if caps.get(key) != other.get(key)}
    return Apart(frozenset(differ))


def candidate_state(
    decided: UserState, candidate: UserState, event_id: str, differ: Apart
) -> UserState:
    """The candidate's state after an event decided from the current arm's state into
    `decided`, when the candidate's state was `candidate`, apart from it by `differ`."""
    record = decided.applied.get(event_id)
    # No record: the decision waited for an external amount and changed nothing.
    applied = candidate.applied
    if record is not None:
        applied = remembered(applied, event_id, record)
    caps = decided.caps
    if differ.types:
        caps, own = dict(caps), candidate.caps
        for event_type in differ.types:
            counter = own.get(event_type)
            if counter is None:
                caps.pop(event_type, None)
            else:
                caps[event_type] = counter
    return UserState(
        decided.tier, caps, decided.marks, decided.streaks, applied, decided.tiering,
        decided.returnable,
    )  # fmt: skip

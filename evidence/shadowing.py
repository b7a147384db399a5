"""A shadow run's decisions: pure, no I/O (the worker around it is `evidence.shadow`).

The archive's events reach a `Shadow` in decision order. Those archived before the run started
(`history`) build the users' states and the rule budgets' usage, decided under the versions in
force, as a backtest builds them before its window. From the first event of the run on
(`decide`), two arms decide each event from their own states: `live`, under the version the
event was decided with (it must give what was archived: `reproduced`), and `candidate`, under
the candidate configuration, starting from the live states as they were when the run started.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import orjson

from evidence.core.replay import Arm
from ledger.reads import ArchivedEvent
from processors.engine import CompiledProgramme, Decision
from schemas.events import EventV1


@dataclass(frozen=True, slots=True)
class ShadowDecision:
    """What a shadow run stores for one archived event."""

    event_id: str
    seq: int
    occurred_at: datetime
    user_id: str
    event_type: str
    points: int
    """The candidate's net points."""
    awards: dict[str, int]
    """The candidate's signed points by rule."""
    tier: str | None
    live_points: int
    """As archived: what was decided live."""
    live_awards: dict[str, int]
    live_tier: str | None
    booked: bool
    """The ledger booked the live decision (not refused it)."""
    reproduced: bool
    """The versions in force, replayed, gave the archived points."""


def live_awards(archived_awards: str) -> dict[str, int]:
    """The archive's awards JSON ([{"rule_id", "kind", "points"}]) as signed points by rule."""
    signed: dict[str, int] = {}
    for award in orjson.loads(archived_awards):
        points = int(award["points"])
        rule_id = str(award["rule_id"])
        signed[rule_id] = signed.get(rule_id, 0) + (points if award["kind"] == "earn" else -points)
    return signed


def _by_rule(decision: Decision) -> dict[str, int]:
    signed: dict[str, int] = {}
    for award in decision.awards:
        signed[award.rule_id] = signed.get(award.rule_id, 0) + award.signed_points
    return signed


class Shadow:
    """Feed it the archive in decision order: `history` up to the run's start, then `decide`."""

    def __init__(
        self, versions: Callable[[int | None], CompiledProgramme], candidate: CompiledProgramme
    ) -> None:
        self.live = Arm(versions)
        self.candidate = Arm(lambda _: candidate)
        self._started = False
        self.history_events = 0

    def history(self, row: ArchivedEvent) -> None:
        """An event archived before the run started: it builds the states as decided live."""
        self.history_events += 1
        event = EventV1.model_validate_json(row.event)
        self.live.decide(event, row.programme_version, _external(row))

    def decide(self, row: ArchivedEvent) -> ShadowDecision:
        """An event archived since the run started: the candidate's decision beside the live."""
        if not self._started:
            self._started = True
            self.candidate.states = dict(self.live.states)
            self.candidate.budget_used = dict(self.live.budget_used)
        event = EventV1.model_validate_json(row.event)
        external = _external(row)
        live = self.live.decide(event, row.programme_version, external)
        candidate = self.candidate.decide(event, row.programme_version, external)
        return ShadowDecision(
            event_id=row.event_id,
            seq=row.seq,
            occurred_at=row.occurred_at,
            user_id=row.user_id,
            event_type=row.event_type,
            points=candidate.points,
            awards=_by_rule(candidate),
            tier=candidate.explanation.tier,
            live_points=row.points,
            live_awards=live_awards(row.awards),
            live_tier=live.explanation.tier,
            booked=row.outcome_status == "booked",
            reproduced=live.points == row.points,
        )


def _external(row: ArchivedEvent) -> dict[str, int]:
    return {} if row.external_points is None else dict(orjson.loads(row.external_points))

"""A batch's decisions counted for the processors' metrics: events by programme and status,
rejections by programme and reason, points by programme and rule. Compiled with the engine: one
call per decision instead of the interpreted glue that read each trace's outcome into a list
(about a tenth of the worker's own work per event). Pure: the caller adds the counts to its
counters once per batch."""

from collections.abc import Collection, Iterable
from typing import Final

from processors.engine.decision import Decision

REFUSING_OUTCOMES: Final = frozenset({"cut_to_zero", "frequency_limited", "invalid_amount"})
"""Rule outcomes that mean "this rule would have paid, and a limit stopped it"."""


def rejection_reasons(status: str, rule_outcomes: Iterable[str]) -> list[str]:
    """Why an event paid nothing (or less), from its rules' outcomes: a rule's refusing outcome,
    `invalid` for an invalid event, `no_rule` when no rule of the event type applied."""
    if status == "invalid_event":
        return ["invalid"]
    refused = [outcome for outcome in rule_outcomes if outcome in REFUSING_OUTCOMES]
    if status == "no_points" and not refused:
        refused.append("no_rule")
    return refused


class DecisionTally:
    """Counts since the last `clear`; plain dicts keyed by label values."""

    __slots__ = ("events", "points", "rejections")

    def __init__(self) -> None:
        self.events: dict[tuple[str, str], int] = {}
        self.rejections: dict[tuple[str, str], int] = {}
        self.points: dict[tuple[str, str], int] = {}

    def decision(self, programme_id: str, decision: Decision) -> None:
        """One decided event: its status, its rules' refusals and its earned points."""
        status = decision.status
        rules = decision.explanation.rules
        if status == "awarded":
            for trace in rules:
                if trace.outcome in REFUSING_OUTCOMES:
                    self.decided(programme_id, status, [t.outcome for t in rules])
                    break
            else:  # most events: nothing refused
                self._add(self.events, (programme_id, status), 1)
        else:
            self.decided(programme_id, status, [t.outcome for t in rules])
        for award in decision.awards:
            if award.kind == "earn":
                self._add(self.points, (programme_id, award.rule_id), award.points)

    def decided(self, programme_id: str, status: str, outcomes: Collection[str]) -> None:
        self._add(self.events, (programme_id, status), 1)
        if status == "awarded" and REFUSING_OUTCOMES.isdisjoint(outcomes):
            return
        for reason in rejection_reasons(status, outcomes):
            self._add(self.rejections, (programme_id, reason), 1)

    def earned(self, programme_id: str, rule_id: str, points: int) -> None:
        self._add(self.points, (programme_id, rule_id), points)

    def clear(self) -> None:
        self.events = {}
        self.rejections = {}
        self.points = {}

    @staticmethod
    def _add(counts: dict[tuple[str, str], int], key: tuple[str, str], amount: int) -> None:
        counts[key] = counts.get(key, 0) + amount

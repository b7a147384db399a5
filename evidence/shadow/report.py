"""A shadow run's report: the live decisions (as archived, and as the ledger booked them)
beside the candidate's, over any period of the run, as a backtest's report (`evidence.report`,
drawn by `evidence.rendering`)."""

from datetime import datetime

import asyncpg

from evidence.core.replay import Mismatch, Totals
from evidence.report import Report
from evidence.shadow import store
from evidence.shadow.store import Run
from evidence.shadowing import ShadowDecision

MISMATCH_EXAMPLES_MAX = 20


class Tally:
    """The run's stored decisions added up, arm by arm."""

    def __init__(self) -> None:
        self.live = Totals()
        self.candidate = Totals()
        self.mismatches = 0
        self.mismatch_examples: list[Mismatch] = []
        self.rejected_live = 0

    def add(self, stored: ShadowDecision) -> None:
        user, kind, booked = stored.user_id, stored.event_type, stored.booked
        self.live.record(user, kind, stored.live_tier or "", stored.live_points,
                         stored.live_awards.items(), booked)  # fmt: skip
        self.candidate.record(user, kind, stored.tier or "", stored.points,
                              stored.awards.items(), booked)  # fmt: skip
        self.rejected_live += not booked
        if not stored.reproduced:
            self.mismatches += 1
            if len(self.mismatch_examples) < MISMATCH_EXAMPLES_MAX:
                # The archived points; the replay's own are not stored (only that they differ).
                example = Mismatch(stored.event_id, stored.live_points, stored.live_points)
                self.mismatch_examples.append(example)


def report_of(run: Run, tally: Tally, since: datetime | None, until: datetime | None) -> Report:
    budgets = {rule.rule_id: rule.budget_max for rule in run.candidate.rules if rule.budget_max}
    booked = dict(tally.live.booked_by_rule)
    return Report(
        programme_id=run.programme_id,
        candidate_version=run.candidate_version,
        since=since,
        until=until,
        events=tally.live.events,
        history_events=0,
        current=tally.live,
        candidate=tally.candidate,
        ledger_booked=booked,
        mismatches=tally.mismatches,
        mismatch_examples=tuple(tally.mismatch_examples),
        rejected_live=tally.rejected_live,
        budgets=budgets,
        ledger_now=booked,
        shadow_run_id=run.run_id,
    )


async def report(
    pool: asyncpg.Pool, run: Run, since: datetime | None = None, until: datetime | None = None
) -> Report:
    tally = Tally()
    async for chunk in store.decisions(pool, run.run_id, since, until):
        for stored in chunk:
            tally.add(stored)
    return report_of(run, tally, since, until)

"""The shadow worker's rounds: every `shadow_tick_s`, each running shadow run is followed
(`following`); a run stopped or gone is let go. A round that fails (Postgres away for a
moment) lets every run go: they are taken up again, from their stored positions, next round."""

import asyncio
import contextlib
import logging
import time

import asyncpg

from evidence.shadow import metrics, store
from evidence.shadow.following import Follower, follow, take_up
from evidence.shadow.settings import ShadowSettings

log = logging.getLogger(__name__)


async def tick(
    pool: asyncpg.Pool, followers: dict[int, Follower], settings: ShadowSettings
) -> None:
    runs = await store.runs(pool, None, settings.shadow_runs_max, "running")
    wanted = {run.run_id for run in runs}
    for run_id in set(followers) - wanted:
        _let_go(followers, run_id)
    for run in sorted(runs, key=lambda run: run.run_id):
        follower = followers.get(run.run_id)
        if follower is None:
            log.info("shadow run %s (%s): taking up", run.run_id, run.programme_id)
            follower = followers[run.run_id] = await take_up(pool, run, settings.shadow_chunk_rows)
        still = await follow(
            pool, follower, settings.shadow_chunk_rows, settings.shadow_decisions_max
        )
        if not still:
            log.info("shadow run %s stopped", run.run_id)
            _let_go(followers, run.run_id)


def _let_go(followers: dict[int, Follower], run_id: int) -> None:
    follower = followers.pop(run_id)
    with contextlib.suppress(KeyError):
        metrics.LAG.remove(follower.programme_id, str(run_id))


def _show_lag(followers: dict[int, Follower]) -> None:
    now = time.time()
    metrics.RUNS.set(len(followers))
    for follower in followers.values():
        lag = max(0.0, now - follower.caught_up_at)
        metrics.LAG.labels(follower.programme_id, str(follower.run_id)).set(lag)


async def run(settings: ShadowSettings, stop: asyncio.Event) -> None:
    pool = await asyncpg.create_pool(
        settings.database_url,
        min_size=1,
        max_size=3,  # the archive's read cursor, the decisions' writes, the runs' updates
        server_settings={"application_name": "loyalty-shadow"},
    )
    followers: dict[int, Follower] = {}
    try:
        while not stop.is_set():
            try:
                await tick(pool, followers, settings)
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                log.warning("shadow round failed, will retry: %s", exc)
                metrics.TICKS.labels("failed").inc()
                # A run's states may be ahead of its stored position: taken up again.
                for run_id in list(followers):
                    _let_go(followers, run_id)
            else:
                metrics.TICKS.labels("ok").inc()
            _show_lag(followers)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.shadow_tick_s)
    finally:
        await pool.close()

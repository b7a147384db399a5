"""`loyalty-scheduler`: run the rounds until SIGTERM or SIGINT; or, as an operator's (and a
test's) tool, `loyalty-scheduler emit --programme P --through DAY` sends one programme's days up
to DAY now (a day after the programme's local today only with `--allow-future`)."""

import argparse
import asyncio
import logging
import signal
import sys
from datetime import date

from prometheus_client import start_http_server
from pydantic import ValidationError

from scheduler.days import local_today
from scheduler.emitting import emit_due, known_programme
from scheduler.running import connected, run, wall_clock
from scheduler.settings import SchedulerSettings

log = logging.getLogger("scheduler")


class UsageError(Exception):
    """A one-line error for the command line (exit status 2)."""


async def serve(settings: SchedulerSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    log.info("scheduling every %.0f s", settings.scheduler_tick_s)
    await run(settings, stop)
    log.info("scheduler stopped")


async def emit(
    settings: SchedulerSettings, programme_id: str, through: date, allow_future: bool
) -> list[date]:
    async with connected(settings) as (pool, send, review):
        zone = await known_programme(pool, programme_id)
        if zone is None:
            raise UsageError(f"unknown programme {programme_id!r}")
        today = local_today(wall_clock(), zone)
        if through > today and not allow_future:
            raise UsageError(
                f"{through} is after the programme's local today ({today}); "
                "pass --allow-future to send it now (a test or a staging programme)"
            )
        emitted = await emit_due(pool, send, programme_id, zone, through, 3660, review)
        return emitted.days


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def parser() -> argparse.ArgumentParser:
    found = argparse.ArgumentParser(prog="loyalty-scheduler", description=__doc__)
    commands = found.add_subparsers(dest="command")
    sending = commands.add_parser("emit", help="send one programme's days up to a day, now")
    sending.add_argument("--programme", required=True)
    sending.add_argument("--through", required=True, type=_day, help="the last day, YYYY-MM-DD")
    sending.add_argument("--allow-future", action="store_true")
    return found


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    arguments = parser().parse_args()
    try:
        settings = SchedulerSettings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        print(f"loyalty-scheduler: invalid settings: {problems}", file=sys.stderr)
        sys.exit(2)
    if arguments.command == "emit":
        try:
            days = asyncio.run(
                emit(settings, arguments.programme, arguments.through, arguments.allow_future)
            )
        except UsageError as exc:
            print(f"loyalty-scheduler: {exc}", file=sys.stderr)
            sys.exit(2)
        print(f"sent {', '.join(map(str, days))}" if days else "nothing to send: already sent")
        return
    start_http_server(settings.metrics_port)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()

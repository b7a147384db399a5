"""When the faults strike: each at a seeded fraction of the events sent, one after another (a
fault's process is back before the next fault), while a watch restarts any service that died on
its own (which the run reports: nothing should)."""

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.chaos.system import SERVERS, SERVICES, System

WATCH_S = 1.0


@dataclass(frozen=True)
class Fault:
    kind: str
    at: float  # the fraction of the events sent when it strikes


@dataclass(frozen=True)
class Done:
    kind: str
    started: float  # monotonic
    ready: float


KINDS = (*SERVICES, *SERVERS)


def schedule(seed: int, kills: int, kinds_wanted: tuple[str, ...] = KINDS) -> list[Fault]:
    """`kills` SIGKILLs of each service and one restart of Kafka and of Postgres (of those in
    `kinds_wanted`), at random moments between 5 % and 85 % of the events."""
    rng = random.Random(seed)
    kinds = [k for k in (*SERVICES * kills, *SERVERS) if k in kinds_wanted]
    rng.shuffle(kinds)
    moments = sorted(rng.uniform(0.05, 0.85) for _ in kinds)
    return [Fault(kind, at) for kind, at in zip(kinds, moments, strict=True)]


async def inject(
    system: System,
    faults: list[Fault],
    progress: Callable[[], float],
    finished: Callable[[], bool],
    log: Callable[[str], None],
) -> tuple[list[Done], list[str]]:
    """The faults done, and the services found dead that no fault had killed. One task does
    both, so that a service a fault is restarting is never started twice."""
    done: list[Done] = []
    died: list[str] = []
    pending = list(faults)
    while pending or not finished():
        if pending and progress() >= pending[0].at:
            fault = pending.pop(0)
            started = time.monotonic()
            log(f"fault: {fault.kind} at {progress():.0%} of the events")
            await asyncio.to_thread(system.crash, fault.kind)
            done.append(Done(fault.kind, started, time.monotonic()))
            log(f"fault: {fault.kind} back after {done[-1].ready - started:.1f} s")
            continue
        died += await asyncio.to_thread(_revive, system, log)
        await asyncio.sleep(WATCH_S)
    return done, died


def _revive(system: System, log: Callable[[str], None]) -> list[str]:
    stopped = system.stopped_services()
    for service in stopped:
        log(f"the {service} died on its own: started again")
        system.start_service(service)
        system.wait_service(service)
    return stopped

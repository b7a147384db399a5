"""Where every task of a running service is waiting, written to its log on SIGQUIT (as a JVM
writes its threads on `kill -QUIT`).

mode's own dump (SIGUSR1 on a faust worker) prints each task's outermost frame only: an agent
shows as faust's `await coro`, never the line of ours it is waiting on. This follows each task's
chain of awaits (`cr_await`) down to the future it waits for, so a worker that stops deciding
says whether it waits for faust's stream (`async for ...`) or for something it asked for."""

import asyncio
import gc
import logging
import signal
from collections.abc import Iterator
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)


def dump_on_sigquit(loop: asyncio.AbstractEventLoop) -> None:
    loop.add_signal_handler(signal.SIGQUIT, log_task_stacks)


def log_task_stacks() -> None:
    tasks = sorted(asyncio.all_tasks(), key=lambda task: task.get_name())
    lines = [f"{len(tasks)} tasks, each with its chain of awaits (innermost last):"]
    for task in tasks:
        lines.append(f"TASK {task.get_name()}")
        lines += [f"  {where}" for where in awaits(task.get_coro())]
    log.warning("\n".join(lines))


def awaits(awaitable: Any) -> Iterator[str]:
    """Each frame down the chain from a coroutine, then what the innermost one waits for."""
    for _ in range(200):  # bounded: a chain is a few dozen deep
        frame: FrameType | None = (
            getattr(awaitable, "cr_frame", None)
            or getattr(awaitable, "ag_frame", None)
            or getattr(awaitable, "gi_frame", None)
        )
        if frame is not None:
            code = frame.f_code
            yield f"{code.co_filename}:{frame.f_lineno} in {code.co_name}"
        inner = (
            getattr(awaitable, "cr_await", None)
            or getattr(awaitable, "ag_await", None)
            or getattr(awaitable, "gi_yieldfrom", None)
        )
        if inner is None and frame is None:
            # A coroutine's `__await__` wrapper or an async generator's `asend`: neither names
            # what it wraps, but the collector's view of it does.
            inner = next(filter(_resumable, gc.get_referents(awaitable)), None)
            if inner is None:
                yield f"waits for {type(awaitable).__name__}: {awaitable!r:.200}"
        if inner is None:
            return
        awaitable = inner


def _resumable(referent: object) -> bool:
    return any(hasattr(referent, name) for name in ("cr_frame", "ag_frame", "gi_frame"))

"""The imports' progress bar (rich) and their refused rows, both on stderr.

The bar is drawn only when stderr is a terminal: in a pipe or a log, stderr holds just the
refused rows, one line each (`line N: why`), which a script can read. While the bar is drawn,
refused rows are printed above it, so neither garbles the other.
"""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class RowsProgress:
    """A `booking_import.Reporter`, and what `importing` reports its rows to."""

    def __init__(self, progress: Progress | None, task: TaskID | None, stream: TextIO) -> None:
        self._progress = progress
        self._task = task
        self._stream = stream

    def refused(self, line: int, reason: str) -> None:
        self.refused_line(f"line {line}: {' '.join(reason.split())}")

    def refused_line(self, text: str) -> None:
        """A refused row, reported as its text (`line N: why`)."""
        self.note(text)
        self.settled(1)

    def note(self, text: str) -> None:
        """A line on stderr (a refused row), above the bar while it is drawn."""
        if self._progress is None:
            print(text, file=self._stream)
        else:
            self._progress.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def settled(self, rows: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, rows)


@contextmanager
def rows_progress(
    description: str, total_rows: int | None, *, stream: TextIO | None = None
) -> Iterator[RowsProgress]:
    """A bar over `total_rows` (None: unknown) while the block runs, if `stream` (stderr by
    default) is a terminal."""
    out = sys.stderr if stream is None else stream
    if not out.isatty():
        yield RowsProgress(None, None, out)
        return
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(file=out),
        transient=False,
    )
    with progress:
        task = progress.add_task(description, total=total_rows)
        yield RowsProgress(progress, task, out)
        if total_rows is not None:
            progress.update(task, completed=total_rows)

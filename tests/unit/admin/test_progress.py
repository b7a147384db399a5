"""The imports' progress bar (issue 18): drawn on a terminal, advancing by the rows settled and
ending at the file's count, with refused rows printed above it; in a pipe, only the refused rows,
one line each."""

import io

from gateway.admin.progress import rows_progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_the_bar_and_the_refused_rows_above_it() -> None:
    terminal = Terminal()
    with rows_progress("demo balances", 4, stream=terminal) as progress:
        progress.settled(2)
        progress.refused(3, "points: -4 is\nnegative")
        progress.settled(1)
    shown = terminal.getvalue()
    assert "line 3: points: -4 is negative" in shown
    assert "demo balances" in shown
    assert "4/4" in shown
    assert shown.index("line 3:") < shown.rindex("4/4")


def test_a_pipe_gets_only_the_refused_rows() -> None:
    pipe = io.StringIO()
    with rows_progress("demo balances", 4, stream=pipe) as progress:
        progress.settled(3)
        progress.refused(4, "user_id: empty")
    assert pipe.getvalue() == "line 4: user_id: empty\n"

"""A backtest's report as terminal tables (rich) and as one self-contained HTML file with bar
charts drawn as inline SVG (no script, nothing fetched)."""

from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Final

from rich.console import Console
from rich.table import Table

from evidence.report import Report, Row

BAR_WIDTH: Final = 320
BAR_HEIGHT: Final = 14


def _when(moment: datetime | None, open_end: str) -> str:
    return open_end if moment is None else moment.isoformat()


def title(report: Report) -> str:
    if report.shadow_run_id is None:
        return f"Backtest of {report.programme_id}"
    return f"Shadow run {report.shadow_run_id} of {report.programme_id}"


def _arms(report: Report) -> str:
    if report.shadow_run_id is None:
        return (
            "current: each event under the version in force when it was decided; candidate: "
            "under the candidate."
        )
    return (
        "live: what was decided (booked: what the ledger booked); candidate: the shadow run's "
        "decision, from the candidate's own user states since the run started. Nothing of the "
        "candidate is booked."
    )


def _shadow_verdict(report: Report) -> str:
    if report.mismatches == 0:
        return (
            "The versions in force, replayed by the shadow worker beside the candidate, gave "
            f"every live decision ({report.current.booked} points booked)."
        )
    examples = ", ".join(m.event_id for m in report.mismatch_examples)
    return (
        f"The versions in force, replayed by the shadow worker, differed from the live decision "
        f"on {report.mismatches} events (e.g. {examples}): the users' states the run started "
        "from did not match the live ones."
    )


def verdict(report: Report) -> str:
    if report.shadow_run_id is not None:
        return _shadow_verdict(report)
    if report.reproduces:
        return (
            "The current configuration reproduces what was booked, event by event and rule by "
            f"rule ({report.current.booked} points)."
        )
    lines = [
        "The current configuration does NOT reproduce what was booked: replayed "
        f"{report.current.booked} points for the booked events, the ledger holds "
        f"{report.ledger_booked_total}; {report.mismatches} events decided otherwise."
    ]
    lines += [
        f"  {m.event_id}: archived {m.archived_points}, replayed {m.replayed_points}"
        for m in report.mismatch_examples
    ]
    return "\n".join(lines)


def against_ledger(report: Report) -> str:
    """The candidate beside what the journal holds now, a re-base's corrections included."""
    differences = report.ledger_differences()
    if not differences:
        return (
            "The candidate gives exactly what the journal holds now for the booked events, rule "
            "by rule (a re-base's corrections included): no difference."
        )
    shown = ", ".join(f"{row.name} {row.current} -> {row.candidate}" for row in differences)
    return (
        f"Against the journal now (corrections included), {len(differences)} rules differ: {shown}."
    )


def _history(report: Report) -> str:
    if report.shadow_run_id is not None:
        return ""
    return f" ({report.history_events} before it replayed for the users' states)"


def print_report(report: Report, console: Console) -> None:
    span = f"{_when(report.since, 'the start')} to {_when(report.until, 'the end')}"
    console.print(
        f"{title(report)}: candidate version {report.candidate_version}, "
        f"{report.events} events from {span}{_history(report)}, {report.users} users. "
        f"{_arms(report)}"
    )
    for name, rows in _sections(report):
        console.print(_table(name, rows, report.first_arm))
    console.print(f"Users affected: {len(report.user_changes())} of {report.users}")
    console.print(_table("Users whose points change most", report.top_users(), report.first_arm))
    distribution = Table(title="Per-user change")
    distribution.add_column("change")
    distribution.add_column("users", justify="right")
    for label, count in report.distribution():
        distribution.add_row(label, str(count))
    console.print(distribution)
    if report.rejected_live:
        console.print(
            f"{report.rejected_live} events were refused by the ledger in the live run (a "
            "budget, a balance): their points count in the decided totals, not the booked ones."
        )
    console.print(verdict(report))
    if report.shadow_run_id is None:
        console.print(against_ledger(report))


def _sections(report: Report) -> list[tuple[str, list[Row]]]:
    sections = [
        ("Totals", report.totals()),
        ("By rule", report.by_rule()),
        ("By tier", report.by_tier()),
        ("By event type", report.by_event_type()),
    ]
    if report.budgets:
        sections.append(("Budgeted rules (points awarded)", report.budget_rows()))
    return sections


def _table(title: str, rows: Sequence[Row], first_arm: str = "current") -> Table:
    table = Table(title=title)
    table.add_column("")
    for name in (first_arm, "candidate", "change"):
        table.add_column(name, justify="right")
    for row in rows:
        table.add_row(row.name, str(row.current), str(row.candidate), f"{row.change:+d}")
    return table


def html_report(report: Report) -> str:
    return "\n".join([
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape(title(report))}</title><style>{_STYLE}</style></head>",
        f"<body><h1>{escape(title(report))}</h1>",
        html_body(report),
        "</body></html>",
    ])  # fmt: skip


def html_body(report: Report) -> str:
    """The report's text, tables and charts without the document around them (no style, no
    script): the console's backtest page shows it inside its own layout and styles."""
    span = f"{_when(report.since, 'the start')} to {_when(report.until, 'the end')}"
    good = report.reproduces if report.shadow_run_id is None else report.mismatches == 0
    parts = [
        f"<p>Candidate version {report.candidate_version}; {report.events} events from "
        f"{escape(span)}{escape(_history(report))}; {report.users} users, "
        f"{len(report.user_changes())} affected. {escape(_arms(report))}</p>",
        f"<p class='{'ok' if good else 'warn'}'>"
        f"{escape(verdict(report)).replace(chr(10), '<br>')}</p>",
    ]
    if report.shadow_run_id is None:
        parts.append(f"<p>{escape(against_ledger(report))}</p>")
    first = report.first_arm
    for name, rows in _sections(report):
        table = _html_table(rows, first, name)
        parts.append(f"<h2>{escape(name)}</h2>{table}{_bars(rows, first)}")
    top_title = "Users whose points change most"
    top = _html_table(report.top_users(), first, top_title)
    parts.append(f"<h2>{top_title}</h2>{top}")
    distribution = [Row(label, count, count) for label, count in report.distribution()]
    parts.append("<h2>Per-user change (users)</h2>" + _bars(distribution, single=True))
    return "\n".join(parts)


def _html_table(rows: Sequence[Row], first_arm: str, caption: str) -> str:
    """A table captioned for screen readers (the heading above it says the same to the eye)."""
    body = "".join(
        f"<tr><th scope='row'>{escape(r.name)}</th><td>{r.current}</td><td>{r.candidate}</td>"
        f"<td>{r.change:+d}</td></tr>"
        for r in rows
    )
    head = (
        f"<tr><th></th><th scope='col'>{first_arm}</th><th scope='col'>candidate</th>"
        "<th scope='col'>change</th></tr>"
    )
    named = f"<caption class='visually-hidden'>{escape(caption)}</caption>"
    return f"<table>{named}<thead>{head}</thead><tbody>{body}</tbody></table>"


def _bars(rows: Sequence[Row], first_arm: str = "current", *, single: bool = False) -> str:
    """Horizontal bars: current or live (grey) and candidate (blue) per row, on one scale."""
    if not rows:
        return ""
    largest = max(max(abs(r.current), abs(r.candidate)) for r in rows) or 1
    per_row = BAR_HEIGHT * (1 if single else 2) + 8
    height = per_row * len(rows)
    shapes = []
    for index, row in enumerate(rows):
        top = index * per_row
        shapes.append(f"<text x='0' y='{top + BAR_HEIGHT - 3}'>{escape(row.name[:28])}</text>")
        values = [("candidate", row.candidate)] if single else [
            (first_arm, row.current), ("candidate", row.candidate),
        ]  # fmt: skip
        for offset, (kind, value) in enumerate(values):
            width = round(abs(value) / largest * BAR_WIDTH)
            y = top + offset * BAR_HEIGHT
            css = "candidate" if kind == "candidate" else "current"
            shapes.append(
                f"<rect class='{css}' x='200' y='{y}' width='{width}' height='{BAR_HEIGHT - 2}'>"
                f"<title>{kind}: {value}</title></rect>"
                f"<text x='{205 + width}' y='{y + BAR_HEIGHT - 3}'>{value}</text>"
            )
    return (
        f"<svg role='img' width='{200 + BAR_WIDTH + 80}' height='{height}' "
        f"aria-label='bar chart'>{''.join(shapes)}</svg>"
    )


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1d2430; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { padding: 0.25rem 0.75rem; border-bottom: 1px solid #d9dee7; text-align: right; }
th[scope=row] { text-align: left; }
svg text { font-size: 11px; fill: #1d2430; }
rect.current { fill: #9aa5b4; } rect.candidate { fill: #1f5fbf; }
.ok { color: #1a7f37; } .warn { color: #b42318; font-weight: 600; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;
                   clip: rect(0 0 0 0); white-space: nowrap; }
"""

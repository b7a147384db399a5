"""Options that several `loyalty-admin` commands take, each written once, and the parsing they
share. Typer copies an `Annotated` option for every parameter that names it, so one alias (or
one `typer.Option`) serves any number of commands."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from gateway.admin import programmes
from gateway.admin.refusals import Refused, about_file
from schemas.programme import ProgrammeConfig

Programme = Annotated[str, typer.Option("--programme", help="The programme's id.")]

FROM = typer.Option("--from", help="Events from this time (ISO 8601; UTC if no zone).")
TO = typer.Option("--to", help="Events before this time (exclusive).")
Since = Annotated[str | None, FROM]
"""`--from`, optional: from the first event (`window`)."""
Until = Annotated[str | None, TO]
"""`--to`, optional: up to the last event."""


def candidate(purpose: str) -> Any:
    """`--candidate`, a programme file: the configuration the command tries, shadows, applies."""
    return typer.Option("--candidate", help=f"A programme file: the configuration to {purpose}.")


def load_candidate(path: Path) -> ProgrammeConfig:
    """The `--candidate` file's programme (a refusal names the file)."""
    with about_file(path):
        return programmes.load_file(path)


def html(default_name: str) -> Any:
    """`--html`: where the command writes its HTML report (`default_name` when not given)."""
    return typer.Option("--html", help=f"Where to write the HTML report ({default_name}).")


def _moment(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise Refused(f"{option}: {text!r} is not an ISO 8601 date or date-time") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def window(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """`--from` and `--to` as instants (None: not given)."""
    return _moment(since, "--from"), _moment(until, "--to")

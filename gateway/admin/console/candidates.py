"""What the evidence pages (backtest, shadow runs) read from their forms: the configuration to
try (the stored one, or a candidate programme file pasted as YAML or JSON) and moments (ISO
8601, UTC when they name no zone, as the CLI's --from/--to). Each problem is added under the
input it belongs to."""

from datetime import UTC, datetime
from typing import Final

from gateway.admin.service.errors import Invalid
from gateway.admin.service.snapshots import parse_yaml
from schemas.programme import ProgrammeConfig

CANDIDATE_CHARS_MAX: Final = 1_000_000
Problems = dict[str, list[str]]


def chosen(stored: ProgrammeConfig, values: dict[str, str], problems: Problems) -> ProgrammeConfig:
    """The stored configuration, or the candidate pasted (`source` says which)."""
    source = values.get("source", "stored")
    if source == "candidate":
        try:
            return candidate(stored.programme_id, values.get("candidate", ""))
        except Invalid as invalid:
            problems["candidate"] = [*invalid.general, *_lines(invalid)]
    elif source != "stored":
        problems["source"] = ["choose the stored configuration or a candidate"]
    return stored


def candidate(programme_id: str, text: str) -> ProgrammeConfig:
    if not text.strip():
        raise Invalid({}, ["paste a programme file (YAML or JSON)"])
    if len(text) > CANDIDATE_CHARS_MAX:
        raise Invalid({}, [f"at most {CANDIDATE_CHARS_MAX:,} characters"])
    config = parse_yaml(text)
    if config.programme_id != programme_id:
        raise Invalid({}, [f"the file is programme '{config.programme_id}', not '{programme_id}'"])
    return config


def moment(text: str, name: str, problems: Problems) -> datetime | None:
    """None when empty (an open end)."""
    if not text.strip():
        return None
    try:
        found = datetime.fromisoformat(text.strip())
    except ValueError:
        problems[name] = [f"{text!r} is not an ISO 8601 date or date-time"]
        return None
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def window(
    values: dict[str, str], problems: Problems, names: tuple[str, str] = ("since", "until")
) -> tuple[datetime | None, datetime | None]:
    """[From, To) from the two inputs `names`; To must be after From."""
    since = moment(values.get(names[0], ""), names[0], problems)
    until = moment(values.get(names[1], ""), names[1], problems)
    if since is not None and until is not None and since >= until:
        problems.setdefault(names[1], []).append("must be after From")
    return since, until


def _lines(invalid: Invalid) -> list[str]:
    return [
        f"{name}: {problem}" for name, problems in invalid.fields.items() for problem in problems
    ]

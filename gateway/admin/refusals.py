"""Every refusal of `loyalty-admin` is one line on stderr, `error: ...`, and exit status 2.

This is the one place that knows which exceptions are refusals: a command raises (or lets
through) what its layer raises, and `refusal_line` turns each kind into its line. Anything it
does not know is a bug and keeps its traceback (exit status 1). `--debug`, or
LOYALTY_ADMIN_DEBUG=1, shows the traceback of a refusal as well.

    Refused                     raised by the commands themselves (Unreachable among them)
    UsageError (click)          a missing or unknown option, a bad value, no command
    UnknownProgramme, EnvironmentMismatch, StaleConfiguration
                                the admin layer's refusals
    ServiceError                the service layer's (gateway.admin.service.errors)
    ValidationError (pydantic)  a programme or MyRewards file, or a LOYALTY_* variable
    YAMLError, OSError          a file that cannot be read or parsed
    KafkaError (aiokafka)       Kafka unreachable, or refusing a request
    PostgresError (asyncpg)     a key that exists, a reference to nothing, a missing table
    ValueError                  what the admin layer refuses without a type of its own
"""

import logging
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, NoReturn

import asyncpg
import typer
import yaml
from aiokafka.errors import KafkaConnectionError, KafkaError
from pydantic import ValidationError
from typer import _click as click
from typer.core import TyperGroup

from gateway.admin.api_keys import EnvironmentMismatch
from gateway.admin.programmes import StaleConfiguration, UnknownProgramme
from gateway.admin.service.errors import ServiceError

REFUSED = 2
"""The exit status of every refusal."""
PROBLEMS_SHOWN_MAX = 5
"""A validation error names its first few problems (and how many more there are)."""

_debugging: ContextVar[bool] = ContextVar("debugging", default=False)


class Refused(Exception):
    """A refusal raised by an admin command itself; its message is the line."""


def refusal_line(exc: BaseException) -> str | None:
    """The line that explains the refusal, or None for an exception that is a bug."""
    match exc:
        case click.exceptions.UsageError():
            return _usage_line(exc)
        case click.exceptions.ClickException():
            return exc.format_message()
        case (
            Refused()
            | UnknownProgramme()
            | EnvironmentMismatch()
            | StaleConfiguration()
            | ServiceError()
        ):
            return str(exc)
        case ValidationError():
            return validation_line(exc)
        case yaml.YAMLError():
            return yaml_line(exc)
        case FileNotFoundError() | IsADirectoryError() | PermissionError():
            return f"{exc.filename}: {exc.strerror}"
        case KafkaConnectionError():
            return f"Kafka unreachable: {exc}"
        case KafkaError():
            return f"Kafka refused the request: {exc}"
        case asyncpg.UndefinedTableError():
            return f"{exc.message}: the database is not migrated (loyalty-db migrate)"
        case asyncpg.UniqueViolationError() | asyncpg.ForeignKeyViolationError():
            # Their detail names the key ("Key (client_id)=(crm) already exists.").
            return f"the database refused it: {exc.message} ({exc.detail})"
        case asyncpg.IntegrityConstraintViolationError() | asyncpg.DataError():
            # Not the detail: a check violation's shows the whole row, a secret among it.
            return f"the database refused it: {exc.message}"
        case ValueError():
            return str(exc)
    return None


def _usage_line(exc: click.exceptions.UsageError) -> str:
    message = exc.format_message().replace("Value error, ", "").rstrip(".")
    command = exc.ctx.command_path if exc.ctx is not None else "loyalty-admin"
    return f"{message[:1].lower()}{message[1:]} (see '{command} --help')"


def validation_line(exc: ValidationError) -> str:
    """Every problem as `where: what`, joined on one line, the first few of them."""
    problems = [_problem(error) for error in exc.errors(include_url=False)]
    line = "; ".join(problems[:PROBLEMS_SHOWN_MAX])
    more = len(problems) - PROBLEMS_SHOWN_MAX
    return f"{line}; and {more} more" if more > 0 else line


def _problem(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    location = "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]
    ).lstrip(".")
    return f"{location}: {message}" if location else message


def yaml_line(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"not YAML: {exc.problem} at line {mark.line + 1}, column {mark.column + 1}"
    return f"not YAML: {exc}"


@contextmanager
def about_file(path: Path) -> Iterator[None]:
    """Names the file in the refusal of its content (or of its absence)."""
    try:
        yield
    except (ValidationError, yaml.YAMLError, OSError) as exc:
        line = refusal_line(exc) if not isinstance(exc, OSError) else exc.strerror
        raise Refused(f"{path}: {line}") from exc


def refuse(line: str) -> NoReturn:
    typer.echo(f"error: {' '.join(line.split())}", err=True)
    raise SystemExit(REFUSED)


@contextmanager
def refusals() -> Iterator[None]:
    """Turns a refusal raised inside into its line and exit status 2."""
    try:
        yield
    except Exception as exc:
        line = refusal_line(exc)
        if line is None:
            raise
        if _debugging.get():
            traceback.print_exception(exc, file=sys.stderr)
        refuse(line)


# Libraries that log what the refusal says again (aiokafka: "Unable connect to ..."), on stderr
# through logging's last resort: silenced unless --debug.
_LIBRARY_LOGGERS = ("aiokafka", "asyncpg")


@contextmanager
def _quiet(names: Sequence[str]) -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def debug() -> None:
    """The root command's `--debug`: a refusal's traceback, and the libraries' logs."""
    _debugging.set(True)
    for name in _LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)


class AdminGroup(TyperGroup):
    """The root command, run with every refusal handled by `refusals`: `loyalty-admin` itself
    and typer's CliRunner both call `main`."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        token = _debugging.set(False)
        try:
            with refusals(), _quiet(_LIBRARY_LOGGERS):
                status = super().main(
                    args, prog_name, complete_var, False, windows_expand_args, **extra
                )
        finally:
            _debugging.reset(token)
        # Not standalone: a typer.Exit's status comes back as the result.
        raise SystemExit(status if isinstance(status, int) else 0)

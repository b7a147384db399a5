"""What the console's routes (pages and admin API) share for the process's lifetime."""

from dataclasses import dataclass

from fastapi import Request

from gateway.admin.console.settings import ConsoleSettings
from gateway.admin.service.backend import Backend
from gateway.admin.service.sessions import LoginPolicy


@dataclass(frozen=True, slots=True)
class Console:
    settings: ConsoleSettings
    backend: Backend
    policy: LoginPolicy


def console_of(request: Request) -> Console:
    """Set on the application (and on the mounted admin API) at startup."""
    found: Console = request.app.state.console
    return found

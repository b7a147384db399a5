"""Who asks: an admin (through a console session or an API token) or the CLI, with what they may
see and change. Every service function takes the actor first and checks it before anything else.

An admin sees the programmes they are granted (an owner may be granted all of them); a programme
they are not granted is answered exactly as one that does not exist. Viewers change nothing;
editors change the configuration and keys of their programmes; owners also create programmes
and manage admins."""

import getpass
from dataclasses import dataclass
from typing import Literal, get_args

from gateway.admin.service.errors import Forbidden, NotFound

Role = Literal["owner", "editor", "viewer"]
ROLES: tuple[Role, ...] = get_args(Role)


@dataclass(frozen=True, slots=True)
class Actor:
    label: str
    """What the audit log says did it: the admin's email (and token), or `cli:<os user>`."""
    role: Role
    admin_id: int | None = None
    programmes: frozenset[str] | None = None
    """The programmes granted; None for all of them."""
    email: str | None = None
    """The admin's, when an admin acts (None for the CLI)."""

    @classmethod
    def cli(cls) -> "Actor":
        """The operator at the CLI: whoever can reach the database is trusted with all of it."""
        return cls(label=f"cli:{_os_user()}", role="owner")

    def sees(self, programme_id: str) -> bool:
        return self.programmes is None or programme_id in self.programmes

    def require_visible(self, programme_id: str) -> None:
        if not self.sees(programme_id):
            raise NotFound(unknown_programme(programme_id))

    def require_editor(self, programme_id: str) -> None:
        """May change the programme's configuration and keys."""
        self.require_visible(programme_id)
        if self.role == "viewer":
            raise Forbidden(f"{self.label} is a viewer: nothing can be changed")

    def require_owner(self, what: str) -> None:
        if self.role != "owner":
            raise Forbidden(f"only an owner can {what} ({self.label} is {self.role})")

    @property
    def can_change(self) -> bool:
        return self.role != "viewer"


def unknown_programme(programme_id: str) -> str:
    return f"unknown programme '{programme_id}'"


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"

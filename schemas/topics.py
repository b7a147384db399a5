"""Topic names and the record key that keeps one user's records in order."""

from typing import Final

EVENTS: Final = "events.v1"
LEDGER_COMMANDS: Final = "ledger-commands.v1"
CONFIG: Final = "config.v1"
DEAD_LETTERS: Final = "dead-letters.v1"
PREVIEWS: Final = "previews.v1"
"""Preview requests ("what would this event earn?"), keyed and partitioned as events.v1, so the
processors worker that holds the user's state answers (`schemas.previews`)."""
PREVIEW_REPLIES: Final = "preview-replies.v1"
"""The answers to preview requests, keyed by request id; every waiting gateway (and console)
reads all of it from its end."""


def user_key(programme_id: str, user_id: str) -> bytes:
    """Every record about a user is keyed `programme_id:user_id`, so one partition orders them."""
    return f"{programme_id}:{user_id}".encode()


def programme_key(programme_id: str) -> bytes:
    """A record about a whole programme (a lifecycle command): `programme_id:`, so one partition
    orders a programme's time-driven commands."""
    return f"{programme_id}:".encode()

"""Who may see and change what, and when failed logins lock an email: pure decisions."""

from datetime import UTC, datetime, timedelta

import pytest

from gateway.admin.service.actors import Actor
from gateway.admin.service.errors import Forbidden, NotFound
from gateway.admin.service.sessions import locked_until


def test_an_admin_sees_only_the_programmes_granted() -> None:
    editor = Actor("ed@example.com", "editor", 1, frozenset({"demo"}))
    editor.require_editor("demo")
    with pytest.raises(NotFound, match="unknown programme 'other'"):
        editor.require_visible("other")
    assert Actor("o@example.com", "owner", 2, None).sees("anything")


def test_a_viewer_changes_nothing_and_only_owners_create_programmes() -> None:
    viewer = Actor("v@example.com", "viewer", 3, frozenset({"demo"}))
    viewer.require_visible("demo")
    with pytest.raises(Forbidden, match="viewer"):
        viewer.require_editor("demo")
    with pytest.raises(Forbidden, match="only an owner can create programmes"):
        Actor("e@example.com", "editor", 4, None).require_owner("create programmes")
    assert not viewer.can_change


def test_the_cli_is_an_owner_of_everything_named_by_its_os_user() -> None:
    cli = Actor.cli()
    assert cli.label.startswith("cli:")
    assert (cli.role, cli.programmes, cli.email) == ("owner", None, None)


NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
WINDOW = timedelta(minutes=15)


def test_logins_lock_at_the_limit_until_the_limits_oldest_failure_leaves_the_window() -> None:
    failures = [NOW - timedelta(minutes=m) for m in (1, 2, 3, 4)]  # newest first
    assert locked_until(failures, 5, WINDOW) is None
    failures.append(NOW - timedelta(minutes=10))
    assert locked_until(failures, 5, WINDOW) == NOW + timedelta(minutes=5)
    more = [NOW, *failures]  # the fifth newest now leaves earlier
    assert locked_until(more, 5, WINDOW) == NOW + timedelta(minutes=11)

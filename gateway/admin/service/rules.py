"""A programme's rules: created as drafts, edited into new versions, activated and ended, each
change a new snapshot (gateway.admin.service.configuration); read back in the order the engine
tries them, with the history of every version a rule has had (from `programme_versions`)."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

import asyncpg
from pydantic import JsonValue

from gateway.admin.service import audit
from gateway.admin.service.actors import Actor
from gateway.admin.service.backend import Backend
from gateway.admin.service.configuration import Change, Committed, Source, commit
from gateway.admin.service.errors import NotFound
from gateway.admin.service.programmes import get
from gateway.admin.service.rule_changes import created_rule, edited_rule, with_status
from gateway.admin.service.snapshots import Difference, differences, plain
from schemas.programme import ProgrammeConfig, Rule

HISTORY_MAX: Final = 200
"""Versions of a rule listed at most, newest first."""


async def create(
    backend: Backend,
    actor: Actor,
    programme_id: str,
    rule_id: str,
    data: Mapping[str, Any],
    *,
    source: Source,
    expected_version: int | None = None,
) -> Committed:
    """A new rule, version 1, as a draft."""
    return await _commit(
        backend, actor, programme_id, rule_id, audit.Action.RULE_CREATED,
        lambda current: created_rule(current, rule_id, data), source, expected_version,
    )  # fmt: skip


async def edit(
    backend: Backend,
    actor: Actor,
    programme_id: str,
    rule_id: str,
    data: Mapping[str, Any],
    *,
    source: Source,
    expected_version: int | None = None,
) -> Committed:
    """The rule's next version (its status kept): every field the rule has is `data`'s."""
    return await _commit(
        backend, actor, programme_id, rule_id, audit.Action.RULE_CHANGED,
        lambda current: edited_rule(current, rule_id, data), source, expected_version,
    )  # fmt: skip


async def activate(
    backend: Backend,
    actor: Actor,
    programme_id: str,
    rule_id: str,
    *,
    source: Source,
    expected_version: int | None = None,
) -> Committed:
    """The rule pays from the published snapshot on (within its validity window)."""
    return await _commit(
        backend, actor, programme_id, rule_id, audit.Action.RULE_ACTIVATED,
        lambda current: with_status(current, rule_id, "active"), source, expected_version,
    )  # fmt: skip


async def end(
    backend: Backend,
    actor: Actor,
    programme_id: str,
    rule_id: str,
    *,
    source: Source,
    expected_version: int | None = None,
) -> Committed:
    """The rule pays no more; it stays in the programme as the history decisions name."""
    return await _commit(
        backend, actor, programme_id, rule_id, audit.Action.RULE_ENDED,
        lambda current: with_status(current, rule_id, "ended"), source, expected_version,
    )  # fmt: skip


async def _commit(
    backend: Backend,
    actor: Actor,
    programme_id: str,
    rule_id: str,
    action: audit.Action,
    apply: Callable[[ProgrammeConfig], ProgrammeConfig],
    source: Source,
    expected_version: int | None,
) -> Committed:
    """The snapshot `apply` makes of the current one, committed and audited as `action` (the
    rule before and after)."""
    change = Change(action, "rule", rule_id, apply, audited(rule_id))
    return await commit(
        backend, actor, programme_id, change, source=source, expected_version=expected_version
    )


def audited(rule_id: str) -> Any:
    def state(config: ProgrammeConfig) -> JsonValue:
        rule = config.rule(rule_id)
        return None if rule is None else rule.model_dump(mode="json")

    return state


def status_differences(
    config: ProgrammeConfig, rule_id: str, status: Literal["active", "ended"]
) -> list[Difference]:
    """What activating or ending the rule changes in the snapshot (the confirmation shows it;
    Conflict when the rule cannot take that status)."""
    return differences(plain(config), plain(with_status(config, rule_id, status)))


def ordered(rules: Sequence[Rule]) -> list[Rule]:
    """In the order the engine tries them: ordinary rules by priority, the default rule last
    of them; then streak rules and API-triggered rules (each on its own), ended rules last."""
    return sorted(rules, key=_place)


def _place(rule: Rule) -> tuple[bool, int, bool, int, str]:
    family = 2 if rule.trigger == "api" else 1 if rule.streak is not None else 0
    return (rule.status == "ended", family, rule.default, rule.priority, rule.rule_id)


def by_event_type(config: ProgrammeConfig) -> list[tuple[str, list[Rule]]]:
    """Every declared event type with its rules in order (none for some)."""
    return [
        (e.name, ordered([r for r in config.rules if r.event_type == e.name]))
        for e in config.event_types
    ]


# ---- History ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleVersion:
    """A stored programme version in which the rule changed (or appeared, or went)."""

    programme_version: int
    source: str
    source_file: str | None
    actor: str
    stored_at: datetime
    rule: Rule | None
    """None when this programme version has no such rule (a file loaded without it)."""
    changes: list[Difference]
    """Against the rule in the programme version before."""
    created: bool
    """The rule first appears in this version (its changes are all its fields)."""


async def history(
    pool: asyncpg.Pool, actor: Actor, programme_id: str, rule_id: str
) -> list[RuleVersion]:
    """Newest first: every programme version whose rule differs from the one before."""
    await get(pool, actor, programme_id)  # visible, and exists
    rows = await pool.fetch(
        """
        WITH versions AS (
            SELECT version, source, source_file, actor, stored_at,
                   (SELECT r FROM jsonb_array_elements(config -> 'rules') AS r
                    WHERE r ->> 'rule_id' = $2) AS rule
            FROM programme_versions WHERE programme_id = $1
        ), changed AS (
            SELECT *, lag(rule) OVER (ORDER BY version) AS previous FROM versions
        )
        SELECT version, source, source_file, actor, stored_at, rule::text AS rule,
               previous::text AS previous
        FROM changed
        WHERE rule IS DISTINCT FROM previous
        ORDER BY version DESC
        LIMIT $3
        """,
        programme_id,
        rule_id,
        HISTORY_MAX,
    )
    if not rows:
        raise NotFound(f"programme {programme_id} has no rule '{rule_id}'")
    return [_version(row) for row in rows]


def _version(row: asyncpg.Record) -> RuleVersion:
    rule = None if row["rule"] is None else Rule.model_validate_json(row["rule"])
    previous = None if row["previous"] is None else Rule.model_validate_json(row["previous"])
    return RuleVersion(
        row["version"], row["source"], row["source_file"], row["actor"], row["stored_at"], rule,
        differences(_plain(previous), _plain(rule)), previous is None,
    )  # fmt: skip


def _plain(rule: Rule | None) -> JsonValue:
    return None if rule is None else rule.model_dump(mode="json")

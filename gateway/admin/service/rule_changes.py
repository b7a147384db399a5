"""The next snapshot of a programme when one of its event types, rules or API clients changes:
pure functions of `ProgrammeConfig`s, through `snapshots.next_snapshot` (version + 1, validated
whole), with the models' problems named as the object's own fields (`conditions.0.value`, not
`rules.4.conditions.0.value`), so a rule's form and the admin API's body show them where they
belong.

A rule's lifecycle: created as a draft (version 1); every edit is the rule's next version (an
edit that changes nothing is no version at all); activation and ending change its status only
(the version that pays is the one that was reviewed); an ended rule is history and changes no
more."""

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from pydantic import ValidationError

from gateway.admin.service.errors import Conflict, Invalid, NotFound
from gateway.admin.service.fields import problems_by_field
from gateway.admin.service.snapshots import next_snapshot
from schemas.programme import ApiClient, EventType, Partner, ProgrammeConfig, Rule, RuleStatus

SLUG: Final = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
SLUG_RULE: Final = "1 to 64 letters, digits, '.', '_' or '-' (it goes in URLs)"
RESERVED_RULE_IDS: Final = frozenset({"new", "condition"})
"""Paths of the console's rule pages (`/programmes/P/rules/new`), not ids."""
RULE_OWN_FIELDS: Final = frozenset({"rule_id", "version", "status"})
"""What the service sets on a rule, never its editor: its id (the path's), version and status."""
EDITABLE_FIELDS: Final = tuple(name for name in Rule.model_fields if name not in RULE_OWN_FIELDS)

# The programme's checks across its rules name the rule list as a whole (`rules.priority: ...`);
# after a change of one rule they are about that rule.
_ACROSS_RULES: Final = {"rules.priority": "priority", "rules.default": "default",
                        "rules.streak": "streak"}  # fmt: skip
# Union members pydantic names in a problem's path (`frequency.RollingFrequency.every`,
# `streak.daily.days`, `conditions.0.value.int`): the path a body or a form knows leaves them out.
_UNION_TAG: Final = re.compile(
    r"^(?:(frequency)\.(?:RollingFrequency|literal\[[^\]]*\])"
    r"|(streak)\.(?:daily|before)"
    r"|(conditions\.\d+\.value)\.(?:bool|int|float|str))(?=\.|$)"
)


# ---- Event types ------------------------------------------------------------------------------


def with_event_type(current: ProgrammeConfig, event_type: EventType) -> ProgrammeConfig:
    """The event type added at the end, or replacing the one of its name in place; problems
    named as the event type's fields (`parameters.1.type`), those of rules that no longer fit
    it as they are (`rules.3.conditions.0.operator`)."""
    names = [e.name for e in current.event_types]
    index = names.index(event_type.name) if event_type.name in names else len(names)
    if index == len(names) and not SLUG.match(event_type.name):
        raise Invalid.field("name", SLUG_RULE)
    event_types = list(current.event_types)
    event_types[index : index + 1] = [event_type]
    try:
        return next_snapshot(current, event_types=event_types)
    except Invalid as invalid:
        raise _rules_named(current, rebased(invalid, f"event_types.{index}.")) from invalid


def _rules_named(config: ProgrammeConfig, invalid: Invalid) -> Invalid:
    """Problems of the programme's rules (`rules.3.conditions.0.value`) said of the rule by its
    id, for people changing something else (an event type's parameters)."""
    fields: dict[str, list[str]] = {}
    general = list(invalid.general)
    for name, problems in invalid.fields.items():
        found = re.match(r"^rules\.(\d+)\.(.+)$", name)
        if found is None or int(found[1]) >= len(config.rules):
            fields[name] = problems
            continue
        rule = config.rules[int(found[1])]
        general.extend(f"rule {rule.rule_id}: {found[2]}: {p}" for p in problems)
    return Invalid(fields, general)


def without_event_type(current: ProgrammeConfig, name: str) -> ProgrammeConfig:
    """Refused while a rule (ended ones too: they are the history decisions name) or a
    partner names it."""
    if current.event_type(name) is None:
        raise NotFound(f"programme {current.programme_id} has no event type '{name}'")
    rules, partners = users_of_event_type(current, name)
    if rules or partners:
        users = [
            *(f"rule {r.rule_id} ({r.status})" for r in rules),
            *(f"partner {p.partner_id}" for p in partners),
        ]
        raise Conflict(
            f"event type '{name}' is used by {', '.join(users)}: it can be removed only once "
            "no rule (ended ones included) uses it and no partner is allowed it"
        )
    return next_snapshot(current, event_types=[e for e in current.event_types if e.name != name])


def users_of_event_type(config: ProgrammeConfig, name: str) -> tuple[list[Rule], list[Partner]]:
    """The rules of the event type and the partners allowed it."""
    rules = [r for r in config.rules if r.event_type == name]
    return rules, [p for p in config.partners if p.allows(name)]


# ---- Rules ------------------------------------------------------------------------------------


def rule_of(config: ProgrammeConfig, rule_id: str) -> Rule:
    rule = config.rule(rule_id)
    if rule is None:
        raise NotFound(f"programme {config.programme_id} has no rule '{rule_id}'")
    return rule


def parse_rule(rule_id: str, version: int, status: RuleStatus, data: Mapping[str, Any]) -> Rule:
    """A rule from a form's or a body's fields; Invalid with the rule's own field names."""
    unknown = sorted(set(data) - set(EDITABLE_FIELDS))
    if unknown:
        raise Invalid({name: ["not a field of a rule you can set"] for name in unknown})
    try:
        return Rule.model_validate(
            {**data, "rule_id": rule_id, "version": version, "status": status}
        )
    except ValidationError as exc:
        raise normalised(problems_by_field(exc)) from exc


def created_rule(
    current: ProgrammeConfig, rule_id: str, data: Mapping[str, Any]
) -> ProgrammeConfig:
    """A new rule, version 1, as a draft: it pays nothing until it is activated."""
    if not SLUG.match(rule_id):
        raise Invalid.field("rule_id", SLUG_RULE)
    if rule_id in RESERVED_RULE_IDS:
        raise Invalid.field("rule_id", f"'{rule_id}' is reserved: choose another id")
    if current.rule(rule_id) is not None:
        raise Invalid.field(
            "rule_id", f"programme {current.programme_id} has a rule '{rule_id}' already"
        )
    rule = _checked(current, rule_id, 1, "draft", data)
    return _with_rule(current, rule)


def edited_rule(current: ProgrammeConfig, rule_id: str, data: Mapping[str, Any]) -> ProgrammeConfig:
    """The rule's next version with these fields, its status kept; the snapshot as it was when
    nothing changes."""
    before = rule_of(current, rule_id)
    if before.status == "ended":
        raise Conflict(f"rule {rule_id} is ended: ended rules are history; create a new rule")
    same = _checked(current, rule_id, before.version, before.status, data)
    if same == before:
        return current
    return _with_rule(current, same.model_copy(update={"version": before.version + 1}))


def with_status(current: ProgrammeConfig, rule_id: str, status: RuleStatus) -> ProgrammeConfig:
    """Activated (from draft) or ended (from draft or active); the same status again changes
    nothing; an ended rule stays ended."""
    before = rule_of(current, rule_id)
    if before.status == status:
        return current
    if before.status == "ended" or status == "draft":
        raise Conflict(
            f"rule {rule_id} is {before.status}: it cannot become {status} "
            "(drafts are activated, drafts and active rules are ended, ended rules stay ended)"
        )
    return _with_rule(current, before.model_copy(update={"status": status}))


def _checked(
    current: ProgrammeConfig, rule_id: str, version: int, status: RuleStatus,
    data: Mapping[str, Any],
) -> Rule:  # fmt: skip
    """The rule, or every problem at once: when the rule's own fields are refused, the checks
    across the programme (a condition's value against its parameter's type, a priority taken)
    still run on the fields that passed, so a form shows all its problems in one answer."""
    try:
        return parse_rule(rule_id, version, status, data)
    except Invalid as invalid:
        failed = {name.split(".")[0] for name in invalid.fields}
        rest = {name: value for name, value in data.items() if name not in failed}
        try:
            _with_rule(current, parse_rule(rule_id, version, status, rest))
        except Invalid as across:
            more = {
                name: problems for name, problems in across.fields.items()
                if name.split(".")[0] not in failed
            }  # fmt: skip
            raise Invalid({**invalid.fields, **more}, [*invalid.general, *across.general]) from None
        raise


def _with_rule(current: ProgrammeConfig, rule: Rule) -> ProgrammeConfig:
    ids = [r.rule_id for r in current.rules]
    index = ids.index(rule.rule_id) if rule.rule_id in ids else len(ids)
    rules = list(current.rules)
    rules[index : index + 1] = [rule]
    try:
        return next_snapshot(current, rules=rules)
    except Invalid as invalid:
        raise rebased(invalid, f"rules.{index}.", _ACROSS_RULES) from invalid


def next_priority(config: ProgrammeConfig, event_type: str) -> int:
    """The priority after the event type's ordinary rules (ended ones aside): a new rule's
    default, tried after those that exist."""
    taken = [
        r.priority
        for r in config.rules
        if r.event_type == event_type and r.trigger == "event" and r.streak is None
        and not r.default and r.status != "ended"
    ]  # fmt: skip
    return max(taken, default=0) + 1


def free_rule_id(config: ProgrammeConfig, name: str) -> str:
    """An id for a rule made from its name (`Double points weekend` -> `double-points-weekend`),
    numbered when taken; `rule` for a name of no letters."""
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:56] or "rule"
    taken = {r.rule_id for r in config.rules} | RESERVED_RULE_IDS
    candidates = (base if n == 1 else f"{base}-{n}" for n in range(1, len(taken) + 2))
    return next(c for c in candidates if c not in taken)


# ---- API clients --------------------------------------------------------------------------------


def with_api_client(current: ProgrammeConfig, client: ApiClient) -> ProgrammeConfig:
    """The client declared, so rules may authorise it; one declared already stays as it is."""
    if any(c.client_id == client.client_id for c in current.api_clients):
        return current
    if not SLUG.match(client.client_id):
        raise Invalid.field("client_id", SLUG_RULE)
    try:
        return next_snapshot(current, api_clients=[*current.api_clients, client])
    except Invalid as invalid:
        raise rebased(invalid, f"api_clients.{len(current.api_clients)}.") from invalid


def authorising(config: ProgrammeConfig, client_id: str) -> list[Rule]:
    return [r for r in config.rules if client_id in r.authorised_clients]


# ---- Problems by the object's own fields ---------------------------------------------------------


def rebased(invalid: Invalid, prefix: str, aliases: Mapping[str, str] | None = None) -> Invalid:
    """The problems under `prefix` named without it, those of `aliases` by their alias; the
    others (about the rest of the programme) stay named as they were."""
    fields: dict[str, list[str]] = {}
    for name, problems in invalid.fields.items():
        own = (aliases or {}).get(name, name.removeprefix(prefix))
        fields.setdefault(own, []).extend(problems)
    return normalised(Invalid(fields, invalid.general))


def normalised(invalid: Invalid) -> Invalid:
    """Union members left out of the paths (`frequency.RollingFrequency.every` is
    `frequency.every`). Where both kinds of frequency refused the value, only the one it was
    meant for speaks: the window's fields for an object, the names of the calendar ones for a
    word."""
    names = list(invalid.fields)
    window = any(n.startswith("frequency.RollingFrequency.") for n in names)
    word = any(n.startswith("frequency.literal[") for n in names)
    fields: dict[str, list[str]] = {}
    for name, problems in invalid.fields.items():
        if (window and name.startswith("frequency.literal[")) or (
            word and not window and name == "frequency.RollingFrequency"
        ):
            continue
        _extend(fields.setdefault(_without_tag(name), []), problems)
    return Invalid(fields, invalid.general)


def _without_tag(name: str) -> str:
    return _UNION_TAG.sub(lambda found: next(g for g in found.groups() if g), name, count=1)


def _extend(into: list[str], problems: Iterable[str]) -> None:
    into.extend(p for p in problems if p not in into)

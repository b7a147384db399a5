"""A programme's rules: the list by event type in the order the engine tries them, a new rule
(a draft), a rule's page (its form; saving is its next version), a condition's row for htmx
(the operators of its parameter's type), activating and ending behind a confirmation that shows
what changes, the history of its versions, and "Share Rule ID" (seed 001)."""

import re
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.admin.console import rule_forms, web
from gateway.admin.console.forms import Form, expected_version
from gateway.admin.console.sessions import Visitor, VisitorDep
from gateway.admin.console.state import console_of
from gateway.admin.service import programmes, rules
from gateway.admin.service.configuration import Committed
from gateway.admin.service.errors import Conflict, Invalid, NotFound
from gateway.admin.service.rule_changes import free_rule_id, next_priority, parse_rule, rule_of
from gateway.admin.service.rule_sharing import GUIDE_PATH, share_info
from schemas.programme import VALUELESS_OPERATORS, EventType, ProgrammeConfig, Rule

router = APIRouter()
SPARE_CONDITION_ROWS: Final = 1
INPUTS: Final = frozenset(
    {
        "name", "rule_id", "kind", "priority", "default", "trigger", "authorised_clients",
        "conditions", "points_type", "points", "unit_field", "external.url", "external.method",
        "external.headers", "external.body", "daily_cap", "monthly_cap", "budget_max",
        "frequency.kind", "frequency.every", "frequency.unit", "streak.type",
        "streak.events_per_day", "streak.days", "streak.events", "streak.before", "valid_from",
        "valid_until",
    }
)  # fmt: skip
_CONDITION_INPUT: Final = re.compile(r"^conditions\.\d+\.(parameter|operator|value)$")


def _shown(invalid: Invalid) -> list[str]:
    """The problems the form places beside its inputs; the others go to its top."""
    return [name for name in invalid.fields if name in INPUTS or _CONDITION_INPUT.match(name)]


def _words(config: ProgrammeConfig) -> dict[str, Any]:
    """What the templates say of a rule in words, in the programme's time zone."""
    zone = _zone(config)
    return {
        "config": config, "tab": "rules",
        "words": lambda rule: rule_forms.described(rule, zone),
        "window": lambda rule: rule_forms.window_words(rule, zone),
    }  # fmt: skip


def _context(
    config: ProgrammeConfig, event_type: EventType, form: Form, rule: Rule | None, **more: Any
) -> dict[str, Any]:
    return {
        **_words(config), "event_type": event_type, "form": form, "rule": rule,
        "operators_for": rule_forms.operators_for, "frequencies": rule_forms.FREQUENCIES,
        "spare_conditions": SPARE_CONDITION_ROWS, "valueless": VALUELESS_OPERATORS, **more,
    }  # fmt: skip


def _event_type(config: ProgrammeConfig, name: str) -> EventType:
    event_type = config.event_type(name)
    if event_type is None:
        raise NotFound(f"programme {config.programme_id} has no event type '{name}'")
    return event_type


def _zone(config: ProgrammeConfig) -> ZoneInfo:
    return ZoneInfo(config.time_zone)


async def _config(request: Request, visitor: Visitor, programme_id: str) -> ProgrammeConfig:
    return await programmes.get(console_of(request).backend.pool, visitor.actor, programme_id)


@router.get("/programmes/{programme_id}/rules")
async def rules_page(
    request: Request, programme_id: str, visitor: VisitorDep, saved: str | None = None,
    done: str | None = None,
) -> Response:  # fmt: skip
    config = await _config(request, visitor, programme_id)
    context = {**_words(config), "groups": rules.by_event_type(config), "saved": saved,
               "done": done}  # fmt: skip
    return web.page(request, "programme/rules.html", context)


@router.get("/programmes/{programme_id}/rules/new")
async def new_rule(
    request: Request, programme_id: str, visitor: VisitorDep, event_type: str = ""
) -> Response:
    config = await _config(request, visitor, programme_id)
    visitor.actor.require_editor(programme_id)
    if config.event_type(event_type) is None:
        return web.page(request, "programme/rule_choose.html", {"config": config, "tab": "rules"})
    values = {"kind": "earn", "points_type": "fixed", "frequency": {"kind": "unlimited"},
              "priority": next_priority(config, event_type)}  # fmt: skip
    context = _context(config, _event_type(config, event_type), Form.of(values), None)
    return web.page(request, "programme/rule.html", context)


@router.post("/programmes/{programme_id}/rules/new")
async def create_rule(request: Request, programme_id: str, visitor: VisitorDep) -> Response:
    submitted = await request.form()
    form = Form.submitted(submitted, rule_forms.GROUPS)
    config = await _config(request, visitor, programme_id)
    event_type = _event_type(config, form.value("event_type"))
    rule_id = form.value("rule_id").strip() or free_rule_id(config, form.value("name"))
    try:
        data = _built(form, event_type, config, rule_id)
        committed = await rules.create(
            console_of(request).backend, visitor.actor, programme_id, rule_id, data,
            source="console", expected_version=expected_version(submitted),
        )  # fmt: skip
    except Invalid as invalid:
        return _refused(request, config, event_type, form, None, invalid)
    return _saved(programme_id, rule_id, committed)


def _built(form: Form, event_type: EventType, config: ProgrammeConfig, rule_id: str) -> Any:
    """The rule's fields from the form; its own problems and the model's together."""
    built = rule_forms.rule_data(form.data(), event_type, _zone(config))
    if built.problems:
        try:
            parse_rule(rule_id, 1, "draft", built.data)
            model = None
        except Invalid as invalid:
            model = invalid
        raise rule_forms.merged(built.problems, model)
    return built.data


def _refused(
    request: Request,
    config: ProgrammeConfig,
    event_type: EventType,
    form: Form,
    rule: Rule | None,
    invalid: Invalid,
) -> Response:
    placed = rule_forms.form_problems(invalid)
    context = _context(config, event_type, form.refused(placed, _shown(placed)), rule)
    return web.page(request, "programme/rule.html", context, status=422)


def _saved(programme_id: str, rule_id: str, committed: Committed) -> Response:
    saved = f"v{committed.config.version}" if committed.changed else "same"
    return web.redirect(f"/programmes/{programme_id}/rules/{rule_id}?saved={saved}")


@router.get("/programmes/{programme_id}/rules/condition")
async def condition_row(
    request: Request, programme_id: str, visitor: VisitorDep, event_type: str, index: int,
    add: bool = False,
) -> Response:  # fmt: skip
    """One condition's inputs for htmx: the operators of the chosen parameter's type (`add`:
    a blank one, and the button that adds the next)."""
    config = await _config(request, visitor, programme_id)
    values = {k: v for k, v in request.query_params.items() if k.startswith("conditions.")}
    context = _context(config, _event_type(config, event_type), Form(values), None,
                       i=max(0, min(index, 99)), add=add)  # fmt: skip
    return web.page(request, "programme/_condition.html", context)


@router.get("/programmes/{programme_id}/rules/{rule_id}")
async def rule_page(
    request: Request, programme_id: str, rule_id: str, visitor: VisitorDep,
    saved: str | None = None,
) -> Response:  # fmt: skip
    config = await _config(request, visitor, programme_id)
    rule = rule_of(config, rule_id)
    form = Form.of(rule_forms.form_values(rule, _zone(config)), rule_forms.GROUPS)
    context = _context(config, _event_type(config, rule.event_type), form, rule, saved=saved)
    return web.page(request, "programme/rule.html", context)


@router.post("/programmes/{programme_id}/rules/{rule_id}")
async def save_rule(
    request: Request, programme_id: str, rule_id: str, visitor: VisitorDep
) -> Response:
    """The rule's next version (nothing when nothing changed)."""
    submitted = await request.form()
    form = Form.submitted(submitted, rule_forms.GROUPS)
    config = await _config(request, visitor, programme_id)
    rule = rule_of(config, rule_id)
    event_type = _event_type(config, rule.event_type)
    try:
        data = _built(form, event_type, config, rule_id)
        committed = await rules.edit(
            console_of(request).backend, visitor.actor, programme_id, rule_id, data,
            source="console", expected_version=expected_version(submitted),
        )  # fmt: skip
    except Invalid as invalid:
        return _refused(request, config, event_type, form, rule, invalid)
    return _saved(programme_id, rule_id, committed)


# ---- Activating and ending, behind a confirmation -------------------------------------------


@router.get("/programmes/{programme_id}/rules/{rule_id}/activate")
async def confirm_activation(
    request: Request, programme_id: str, rule_id: str, visitor: VisitorDep
) -> Response:
    return await _confirmation(request, programme_id, rule_id, visitor, "activate")


@router.get("/programmes/{programme_id}/rules/{rule_id}/end")
async def confirm_end(
    request: Request, programme_id: str, rule_id: str, visitor: VisitorDep
) -> Response:
    return await _confirmation(request, programme_id, rule_id, visitor, "end")


async def _confirmation(
    request: Request,
    programme_id: str,
    rule_id: str,
    visitor: Visitor,
    action: str,
    problem: str | None = None,
) -> Response:
    config = await _config(request, visitor, programme_id)
    visitor.actor.require_editor(programme_id)
    rule = rule_of(config, rule_id)
    try:
        status: Literal["active", "ended"] = "active" if action == "activate" else "ended"
        changes = rules.status_differences(config, rule_id, status)
    except Conflict as refused:
        changes, problem = [], refused.message
    context = {**_words(config), "rule": rule, "action": action, "differences": changes,
               "problem": problem}  # fmt: skip
    return web.page(request, "programme/rule_status.html", context,
                    status=200 if problem is None else 409)  # fmt: skip


@router.post("/programmes/{programme_id}/rules/{rule_id}/activate")
async def activate_rule(
    request: Request, programme_id: str, rule_id: str, visitor: VisitorDep
) -> Response:
    return await _change_status(request, programme_id, rule_id, visitor, "activate")


@router.post("/programmes/{programme_id}/rules/{rule_id}/end")
async def end_rule(
    request: Request, programme_id: str, rule_id: str, visitor: VisitorDep
) -> Response:
    return await _change_status(request, programme_id, rule_id, visitor, "end")


async def _change_status(
    request: Request, programme_id: str, rule_id: str, visitor: Visitor, action: str
) -> Response:
    submitted = await request.form()
    change = rules.activate if action == "activate" else rules.end
    try:
        committed = await change(
            console_of(request).backend, visitor.actor, programme_id, rule_id,
            source="console", expected_version=expected_version(submitted),
        )  # fmt: skip
    except (Conflict, Invalid) as refused:
        return await _confirmation(request, programme_id, rule_id, visitor, action,
                                   refused.message)  # fmt: skip
    done = f"{action}:{rule_id}:{committed.config.version if committed.changed else 0}"
    return web.redirect(f"/programmes/{programme_id}/rules?done={done}")


# ---- History and sharing -------------------------------------------------------------------


@router.get("/programmes/{programme_id}/rules/{rule_id}/history")
async def history_page(
    request: Request, programme_id: str, rule_id: str, visitor: VisitorDep
) -> Response:
    pool = console_of(request).backend.pool
    config = await programmes.get(pool, visitor.actor, programme_id)
    versions = await rules.history(pool, visitor.actor, programme_id, rule_id)
    context = {**_words(config), "rule": config.rule(rule_id), "rule_id": rule_id,
               "versions": versions}  # fmt: skip
    return web.page(request, "programme/rule_history.html", context)


@router.get("/programmes/{programme_id}/rules/{rule_id}/share")
async def share_page(
    request: Request, programme_id: str, rule_id: str, visitor: VisitorDep
) -> Response:
    console = console_of(request)
    config = await programmes.get(console.backend.pool, visitor.actor, programme_id)
    rule = rule_of(config, rule_id)
    base = str(request.base_url).rstrip("/")
    info = share_info(config, rule, console.settings.public_api_urls(), base)
    context = {"config": config, "rule": rule, "info": info, "tab": "rules",
               "guide_path": GUIDE_PATH}  # fmt: skip
    return web.page(request, "programme/rule_share.html", context)

"""A rule's form: what its inputs hold as the fields of a `Rule`, and back. Pure.

The form speaks as a person does: dates and times in the programme's time zone, a condition's
value as typed (made a number or a boolean by its parameter's type, so that the model checks
the value and not the text), the frequency as a kind plus a window, the streak as a kind plus
its counts, an external API's headers one a line and its body as JSON. The model's problems
come back under the names of these inputs (`form_problems`)."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, get_args
from zoneinfo import ZoneInfo

import orjson

from gateway.admin.service.errors import Invalid
from schemas.programme import (
    OPERATORS_BY_TYPE,
    VALUELESS_OPERATORS,
    CalendarFrequency,
    EventType,
    Operator,
    Rule,
)

OPERATOR_LABELS: Final[Mapping[str, str]] = {
    "equal_to": "is equal to",
    "not_equal_to": "is not equal to",
    "less_than": "is less than",
    "less_than_or_equal": "is at most",
    "greater_than": "is greater than",
    "greater_than_or_equal": "is at least",
    "contains": "contains",
    "starts_with": "starts with",
    "ends_with": "ends with",
    "is_empty": "is empty",
    "is_not_empty": "is not empty",
}
FREQUENCIES: Final = (*get_args(CalendarFrequency), "rolling")
LOCAL_MINUTE: Final = "%Y-%m-%dT%H:%M"
"""What an `<input type="datetime-local">` holds."""
GROUPS: Final = ("authorised_clients",)


def operators_for(param_type: str | None) -> list[tuple[str, str]]:
    """The operators that fit a parameter's type, in the model's order, with their words; all
    of them when the type is not known yet (the model then says which one does not fit)."""
    fitting = OPERATORS_BY_TYPE.get(param_type or "", frozenset(get_args(Operator)))
    return [(op, OPERATOR_LABELS[op]) for op in get_args(Operator) if op in fitting]


@dataclass
class Built:
    """A rule's fields from its form, and the problems found before the model sees them (a
    header line without its colon, a body that is not a JSON object)."""

    data: dict[str, Any]
    problems: dict[str, list[str]] = field(default_factory=dict)


def rule_data(values: Mapping[str, Any], event_type: EventType, zone: ZoneInfo) -> Built:
    """The `Rule` fields a submitted form (its values nested by `Form.data`) stands for."""
    built = Built({name: values[name] for name in _PLAIN if name in values})
    built.data |= {
        "event_type": event_type.name,
        "default": values.get("default") == "true",
        "trigger": "api" if values.get("trigger") == "api" else "event",
        "authorised_clients": list(values.get("authorised_clients") or ()),
        "conditions": [_condition(c, event_type) for c in _rows(values.get("conditions"))],
        "frequency": _frequency(values.get("frequency")),
        "streak": _streak(values.get("streak"), zone),
        "valid_from": _moment(values.get("valid_from"), zone),
        "valid_until": _moment(values.get("valid_until"), zone),
    }
    _points(built, values)
    return built


_PLAIN: Final = ("name", "kind", "priority", "daily_cap", "monthly_cap", "budget_max")


def _rows(value: Any) -> list[dict[str, Any]]:
    return [row for row in value if isinstance(row, dict)] if isinstance(value, list) else []


def _points(built: Built, values: Mapping[str, Any]) -> None:
    points_type = values.get("points_type") or "fixed"
    built.data["points_type"] = points_type
    if points_type != "external":
        if "points" in values:
            built.data["points"] = values["points"]
        if points_type == "per_unit":
            built.data["unit_field"] = values.get("unit_field")
        return
    external = values.get("external")
    external = external if isinstance(external, dict) else {}
    built.data["external"] = {
        "url": external.get("url", ""),
        "method": external.get("method") or "POST",
        "headers": _headers(str(external.get("headers", "")), built.problems),
        "body": _body(str(external.get("body", "")), built.problems),
    }


def _headers(text: str, problems: dict[str, list[str]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            problems.setdefault("external.headers", []).append(
                f"line {number}: write each header as Name: value"
            )
            continue
        headers[name.strip()] = value.strip()
    return headers


def _body(text: str, problems: dict[str, list[str]]) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        body = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        problems.setdefault("external.body", []).append(f"not JSON: {exc}")
        return {}
    if not isinstance(body, dict):
        problems.setdefault("external.body", []).append('a JSON object, e.g. {"source": "app"}')
        return {}
    return body


def _condition(row: Mapping[str, Any], event_type: EventType) -> dict[str, Any]:
    condition = {key: row[key] for key in ("parameter", "operator") if key in row}
    operator = row.get("operator")
    if "value" in row and operator not in VALUELESS_OPERATORS:
        parameter = event_type.parameter(str(row.get("parameter", "")))
        condition["value"] = typed(str(row["value"]), None if parameter is None else parameter.type)
    return condition


def typed(text: str, param_type: str | None) -> bool | int | float | str:
    """A condition's value as its parameter's type reads it; the text itself when it does not
    read as one (the model then says it is not a value of that type)."""
    text = text.strip()
    try:
        if param_type == "integer":
            return int(text)
        if param_type == "float":
            number = float(text)
            return number if number == number and abs(number) != float("inf") else text
    except ValueError:
        return text
    if param_type == "boolean" and text in ("true", "false"):
        return text == "true"
    return text


def _frequency(value: Any) -> Any:
    chosen = value if isinstance(value, dict) else {}
    kind = chosen.get("kind") or "unlimited"
    if kind != "rolling":
        return kind
    return {"every": chosen.get("every"), "unit": chosen.get("unit")}


def _streak(value: Any, zone: ZoneInfo) -> dict[str, Any] | None:
    chosen = value if isinstance(value, dict) else {}
    kind = chosen.get("type")
    if kind == "daily":
        return {"type": "daily", "events_per_day": chosen.get("events_per_day"),
                "days": chosen.get("days")}  # fmt: skip
    if kind == "before":
        return {"type": "before", "events": chosen.get("events"),
                "before": _moment(chosen.get("before"), zone)}  # fmt: skip
    return None


def _moment(value: Any, zone: ZoneInfo) -> str | None:
    """An instant from the programme's local date and time (or an ISO instant with its
    offset); the text itself when it is neither, for the model to refuse."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.isoformat()


def local(moment: datetime | None, zone: ZoneInfo) -> str | None:
    """An instant as the programme's local date and time, for a datetime-local input."""
    return None if moment is None else moment.astimezone(zone).strftime(LOCAL_MINUTE)


def form_values(rule: Rule, zone: ZoneInfo) -> dict[str, Any]:
    """A stored rule as its form shows it (`rule_data`'s inverse)."""
    data = rule.model_dump(mode="json", exclude={"rule_id", "version", "status", "event_type"})
    frequency = rule.frequency
    data["frequency"] = (
        {"kind": frequency}
        if isinstance(frequency, str)
        else {"kind": "rolling", "every": frequency.every, "unit": frequency.unit}
    )
    streak = data.pop("streak")
    if streak is not None and rule.streak is not None:
        if rule.streak.type == "before":
            streak["before"] = local(rule.streak.before, zone)
        data["streak"] = streak
    data["valid_from"] = local(rule.valid_from, zone)
    data["valid_until"] = local(rule.valid_until, zone)
    external = data.pop("external")
    if rule.external is not None and external is not None:
        headers = rule.external.headers.items()
        external["headers"] = "\n".join(f"{name}: {value}" for name, value in headers)
        external["body"] = orjson.dumps(external["body"]).decode() if external["body"] else ""
        data["external"] = external
    if not rule.default:
        del data["default"]
    return data


def form_problems(invalid: Invalid) -> Invalid:
    """The model's problems under the names of the form's inputs: the frequency's and the
    streak's beside their kind."""
    inputs = {"frequency": "frequency.kind", "streak": "streak.type", "external": "points_type"}
    fields: dict[str, list[str]] = {}
    for name, problems in invalid.fields.items():
        fields.setdefault(inputs.get(name, name), []).extend(problems)
    return Invalid(fields, invalid.general)


def merged(first: Mapping[str, Iterable[str]], invalid: Invalid | None) -> Invalid:
    """The form's own problems with the model's."""
    fields = {name: list(problems) for name, problems in first.items()}
    for name, problems in ({} if invalid is None else invalid.fields).items():
        fields.setdefault(name, []).extend(problems)
    return Invalid(fields, [] if invalid is None else invalid.general)


# ---- A rule in words -------------------------------------------------------------------------

_FREQUENCY_WORDS: Final = {
    "once": "once per user", "daily": "once a day", "weekly": "once a week",
    "monthly": "once a month",
}  # fmt: skip


def described(rule: Rule, zone: ZoneInfo) -> str:
    """What the rule does, in one line for people (the list and the confirmations)."""
    phrases = [_what(rule), *_when(rule), *_limits(rule, zone)]
    return "; ".join(p for p in phrases if p)


def _what(rule: Rule) -> str:
    if rule.points_type == "external":
        assert rule.external is not None  # the model holds it
        amount = f"the points {rule.external.method} {rule.external.url} answers"
    elif rule.points_type == "per_unit":
        amount = f"{_amount(rule.points)} per {rule.unit_field}"
    else:
        amount = _amount(rule.points)
    return f"costs {amount}" if rule.kind == "redeem" else f"earns {amount}"


def _amount(amount: Decimal) -> str:
    return f"{amount} point" if amount == 1 else f"{amount} points"


def _when(rule: Rule) -> list[str]:
    phrases = []
    if rule.trigger == "api":
        phrases.append(f"when triggered through the API by {', '.join(rule.authorised_clients)}")
    if rule.default:
        phrases.append("when no other rule matches")
    if rule.conditions:
        phrases.append("when " + " and ".join(_condition_words(c) for c in rule.conditions))
    if rule.streak is not None and rule.streak.type == "daily":
        phrases.append(
            f"after {rule.streak.events_per_day} events a day for {rule.streak.days} days in a row"
        )
    elif rule.streak is not None:
        deadline = f"{rule.streak.before:%Y-%m-%d %H:%M %Z}"
        phrases.append(f"after {rule.streak.events} events before {deadline}")
    return phrases


def _condition_words(condition: Any) -> str:
    words = f"{condition.parameter} {OPERATOR_LABELS[condition.operator]}"
    if condition.operator in VALUELESS_OPERATORS:
        return words
    value = condition.value
    shown = repr(value) if isinstance(value, str) else str(value).lower()
    return f"{words} {shown}"


def _limits(rule: Rule, zone: ZoneInfo) -> list[str]:
    frequency = rule.frequency
    phrases = [
        _FREQUENCY_WORDS.get(frequency, "")
        if isinstance(frequency, str)
        else f"once per {frequency.every} {frequency.unit}",
        f"at most {rule.daily_cap} a day" if rule.daily_cap else "",
        f"at most {rule.monthly_cap} a month" if rule.monthly_cap else "",
        f"cap max {rule.budget_max} in all" if rule.budget_max else "",
    ]
    if rule.valid_from or rule.valid_until:
        phrases.append(window_words(rule, zone))
    return phrases


def window_words(rule: Rule, zone: ZoneInfo) -> str:
    """The rule's validity window in the programme's local time."""
    start, end = local(rule.valid_from, zone), local(rule.valid_until, zone)
    if not start and not end:
        return "always (no start or end date)"
    words = " ".join([f"from {start}" if start else "", f"until {end}" if end else ""]).strip()
    return f"{words.replace('T', ' ')} ({zone.key} time)"

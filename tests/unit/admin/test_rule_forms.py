"""A rule's form and back: the operators that fit a parameter's type, values typed by their
parameter, dates in the programme's time zone, the frequency and the streak by kind, an external
API's headers and body; problems under the inputs' names; a rule in words; what Share Rule ID
sends (never a secret); the admin API's rule body in step with the rule."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
from starlette.datastructures import FormData

from gateway.admin.api.routes.rules import NewRule, RuleBody
from gateway.admin.console.forms import Form
from gateway.admin.console.rule_forms import (
    GROUPS,
    described,
    form_problems,
    form_values,
    operators_for,
    rule_data,
    typed,
)
from gateway.admin.service.errors import Invalid
from gateway.admin.service.rule_changes import EDITABLE_FIELDS, parse_rule
from gateway.admin.service.rule_sharing import share_info
from schemas.programme import EventType, Parameter, ProgrammeConfig, Rule

ACCRA = ZoneInfo("Africa/Accra")
PARIS = ZoneInfo("Europe/Paris")
VIDEO = EventType(
    name="watched_video",
    parameters=(
        Parameter(name="duration", type="integer", mandatory=True),
        Parameter(name="ratio", type="float"),
        Parameter(name="category", type="string"),
        Parameter(name="premium", type="boolean"),
    ),
)


def submitted(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    return Form.submitted(FormData([(name, value) for name, value in pairs]), GROUPS).data()


def test_the_operators_offered_fit_the_parameters_type() -> None:
    def names(param_type: str | None) -> list[str]:
        return [op for op, _ in operators_for(param_type)]

    assert names("integer") == names("float") == [
        "equal_to", "not_equal_to", "less_than", "less_than_or_equal", "greater_than",
        "greater_than_or_equal", "is_empty", "is_not_empty",
    ]  # fmt: skip
    assert names("string") == [
        "equal_to", "not_equal_to", "contains", "starts_with", "ends_with", "is_empty",
        "is_not_empty",
    ]  # fmt: skip
    assert names("boolean") == ["equal_to", "not_equal_to", "is_empty", "is_not_empty"]
    assert len(names(None)) == 11  # not chosen yet: all, and the model says what fits
    assert dict(operators_for("integer"))["greater_than_or_equal"] == "is at least"


@pytest.mark.parametrize(
    ("text", "param_type", "value"),
    [("10", "integer", 10), ("1.5", "integer", "1.5"), ("1.5", "float", 1.5), ("2", "float", 2.0),
     ("nan", "float", "nan"), ("true", "boolean", True), ("false", "boolean", False),
     ("yes", "boolean", "yes"), (" 10 ", "string", "10"), ("x", None, "x")],
)  # fmt: skip
def test_a_conditions_value_is_read_as_its_parameters_type(
    text: str, param_type: str | None, value: object
) -> None:
    found = typed(text, param_type)
    assert (found, type(found)) == (value, type(value))


def test_a_form_becomes_the_rules_fields() -> None:
    built = rule_data(submitted([
        ("name", "Long video"), ("kind", "earn"), ("priority", "3"), ("points_type", "fixed"),
        ("points", "500"), ("unit_field", "duration"),
        ("conditions.0.parameter", "duration"), ("conditions.0.operator", "greater_than"),
        ("conditions.0.value", "20"),
        ("conditions.1.parameter", "premium"), ("conditions.1.operator", "equal_to"),
        ("conditions.1.value", "true"),
        ("conditions.2.parameter", "category"), ("conditions.2.operator", "is_empty"),
        ("conditions.2.value", "ignored"),
        ("conditions.3.parameter", ""), ("conditions.3.operator", ""),
        ("frequency.kind", "rolling"), ("frequency.every", "30"), ("frequency.unit", "minutes"),
        ("streak.type", "before"), ("streak.events", "4"), ("streak.before", "2026-09-30T00:00"),
        ("streak.days", "9"),
        ("valid_from", "2026-06-01T08:00"), ("valid_until", ""), ("budget_max", "1000"),
    ]), VIDEO, ACCRA)  # fmt: skip
    assert built.problems == {}
    rule = parse_rule("long", 1, "draft", built.data)
    assert rule.conditions[0].value == 20
    assert rule.conditions[1].value is True
    assert rule.conditions[2].value is None
    assert len(rule.conditions) == 3
    assert rule.unit_field is None  # only per-unit points have one
    assert rule.frequency.model_dump() == {"every": 30, "unit": "minutes"}  # type: ignore[union-attr]
    assert rule.streak is not None
    assert rule.streak.model_dump() == {
        "type": "before", "events": 4, "before": datetime(2026, 9, 30, tzinfo=ACCRA),
    }  # fmt: skip
    assert rule.valid_from == datetime(2026, 6, 1, 8, tzinfo=ACCRA)
    assert (rule.valid_until, rule.budget_max, rule.trigger, rule.default) == (
        None, 1000, "event", False,
    )  # fmt: skip


def test_an_api_rule_from_its_form() -> None:
    built = rule_data(submitted([
        ("name", "Welcome"), ("kind", "redeem"), ("trigger", "api"),
        ("authorised_clients", "crm"), ("authorised_clients", "shop"), ("points", "50"),
        ("frequency.kind", "once"), ("streak.type", ""),
    ]), EventType(name="api_reward"), ZoneInfo("UTC"))  # fmt: skip
    rule = parse_rule("welcome", 1, "draft", built.data)
    assert (rule.kind, rule.trigger, rule.authorised_clients, rule.frequency, rule.streak) == (
        "redeem", "api", ("crm", "shop"), "once", None,
    )  # fmt: skip


def test_an_external_apis_headers_and_body_are_read_or_refused() -> None:
    built = rule_data(submitted([
        ("points_type", "external"), ("points", "9"), ("external.url", "https://crm.example/p"),
        ("external.method", "GET"), ("external.headers", "X-Key: abc\n\nAccept: json"),
        ("external.body", '{"source": "app"}'),
    ]), VIDEO, ACCRA)  # fmt: skip
    rule = parse_rule("x", 1, "draft", {**built.data, "event_type": "watched_video"})
    assert rule.external is not None
    assert (rule.points, rule.external.headers, rule.external.body) == (
        Decimal(0), {"X-Key": "abc", "Accept": "json"}, {"source": "app"},
    )  # fmt: skip
    wrong = rule_data(submitted([
        ("points_type", "external"), ("external.url", "https://x"),
        ("external.headers", "no colon here"), ("external.body", "[1]"),
    ]), VIDEO, ACCRA)  # fmt: skip
    assert wrong.problems == {
        "external.headers": ["line 1: write each header as Name: value"],
        "external.body": ['a JSON object, e.g. {"source": "app"}'],
    }


def test_a_stored_rule_shows_in_its_form_and_comes_back_the_same() -> None:
    rule = Rule.model_validate({
        "rule_id": "r", "version": 3, "event_type": "watched_video", "name": "R", "kind": "earn",
        "status": "active", "priority": 2, "points": "2.5", "points_type": "per_unit",
        "unit_field": "duration", "daily_cap": 40, "frequency": {"every": 2, "unit": "hours"},
        "conditions": [{"parameter": "premium", "operator": "equal_to", "value": False},
                       {"parameter": "category", "operator": "is_not_empty"}],
        "streak": {"type": "before", "events": 3, "before": "2026-01-01T00:00:00Z"},
        "valid_until": "2026-03-01T12:00:00+00:00",
    })  # fmt: skip
    form = Form.of(form_values(rule, PARIS), GROUPS)
    assert form.value("valid_until") == "2026-03-01T13:00"  # Paris time
    assert form.value("streak.before") == "2026-01-01T01:00"
    assert form.value("frequency.kind") == "rolling"
    assert form.value("conditions.0.value") == "false"
    built = rule_data(form.data(), VIDEO, PARIS)
    back = parse_rule("r", 3, "active", {**built.data})
    assert back == rule


def test_the_models_problems_land_beside_the_forms_inputs() -> None:
    placed = form_problems(Invalid({"frequency": ["a"], "streak": ["b"], "points": ["c"]}))
    assert placed.fields == {"frequency.kind": ["a"], "streak.type": ["b"], "points": ["c"]}


def test_a_rule_in_words() -> None:
    rule = Rule.model_validate({
        "rule_id": "r", "version": 1, "event_type": "watched_video", "points": "1",
        "points_type": "per_unit", "unit_field": "duration", "frequency": "daily",
        "conditions": [{"parameter": "category", "operator": "starts_with", "value": "PR"}],
        "budget_max": 900, "valid_from": "2026-01-01T00:00:00Z",
    })  # fmt: skip
    assert described(rule, ZoneInfo("UTC")) == (
        "earns 1 point per duration; when category starts with 'PR'; once a day; "
        "cap max 900 in all; from 2026-01-01 00:00 (UTC time)"
    )


def test_share_rule_id_gives_the_environments_endpoint_and_no_secret() -> None:
    config = ProgrammeConfig.model_validate({
        "programme_id": "p", "version": 1, "environment": "staging",
        "api_clients": [{"client_id": "crm"}], "event_types": [{"name": "api_redeem"}],
        "rules": [{"rule_id": "gift", "version": 1, "event_type": "api_redeem", "kind": "redeem",
                   "points": 50, "trigger": "api", "authorised_clients": ["crm"]}],
    })  # fmt: skip
    rule = config.rules[0]
    urls = {"production": "https://api.example", "staging": "https://staging.example/"}
    info = share_info(config, rule, urls, "https://console.example")
    assert info.lines() == [
        ("Rule Name", "gift"), ("Rule ID", "gift"), ("Rule Type", "Redeem Points"),
        ("Environment", "Staging"),
        ("URL Endpoint", "https://staging.example/api/rules/gift/trigger"),
        ("API Integration Guide", "https://console.example/guides/api-triggered-rules"),
    ]  # fmt: skip
    email = unquote(info.mailto)
    assert email.startswith("mailto:?subject=API-triggered rule gift (Staging)&body=Hello")
    assert "Rule ID: gift\n" in email
    assert "crm" not in email  # neither the client nor its secret (seed 001)


def test_the_admin_apis_rule_body_has_the_fields_an_author_sets() -> None:
    assert tuple(RuleBody.model_fields) == EDITABLE_FIELDS
    assert set(NewRule.model_fields) == {*EDITABLE_FIELDS, "rule_id"}
    for name in EDITABLE_FIELDS:
        assert RuleBody.model_fields[name].description == Rule.model_fields[name].description
        assert RuleBody.model_fields[name].default == Rule.model_fields[name].default
    now = datetime(2026, 1, 1, tzinfo=UTC)
    body = RuleBody(event_type="e", points=Decimal(3), valid_from=now)
    assert parse_rule("r", 1, "draft", body.data()).valid_from == now

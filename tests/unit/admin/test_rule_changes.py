"""The next snapshot when an event type, a rule or an API client changes: a rule is created as a
draft at version 1, each edit is its next version (an edit that changes nothing is none), its
status moves draft -> active -> ended only; the models' problems come back named by the rule's
own fields; an event type in use is not removed."""

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gateway.admin.programmes import load_file
from gateway.admin.service.errors import Conflict, Invalid, NotFound
from gateway.admin.service.rule_changes import (
    EDITABLE_FIELDS,
    created_rule,
    edited_rule,
    free_rule_id,
    next_priority,
    normalised,
    parse_rule,
    users_of_event_type,
    with_api_client,
    with_event_type,
    with_status,
    without_event_type,
)
from gateway.admin.service.rules import by_event_type, ordered, status_differences
from gateway.admin.service.snapshots import unchanged
from schemas.programme import ApiClient, EventType, Parameter, ProgrammeConfig, Rule

REPO = Path(__file__).resolve().parents[3]
KWEGG = load_file(REPO / "tests/e2e/programmes/kwegg.yaml")
E2E = load_file(REPO / "tests/e2e/programmes/e2e.yaml")
LONG_VIDEO: dict[str, Any] = {
    "event_type": "watched_video", "name": "Long video", "points": "500", "priority": 4,
    "conditions": [{"parameter": "duration", "operator": "greater_than", "value": 30}],
}  # fmt: skip


def test_a_new_rule_is_a_draft_at_version_one_in_the_next_snapshot() -> None:
    after = created_rule(KWEGG, "video-30", LONG_VIDEO)
    rule = after.rule("video-30")
    assert rule is not None
    assert (after.version, rule.version, rule.status, rule.name) == (2, 1, "draft", "Long video")
    assert after.rules[:-1] == KWEGG.rules  # added at the end, the others untouched


@pytest.mark.parametrize(
    ("rule_id", "problem"),
    [("video 30", "1 to 64 letters"), ("new", "reserved"), ("video-10", "has a rule 'video-10'")],
)
def test_a_new_rules_id_is_a_free_slug(rule_id: str, problem: str) -> None:
    with pytest.raises(Invalid) as refused:
        created_rule(KWEGG, rule_id, LONG_VIDEO)
    assert list(refused.value.fields) == ["rule_id"]
    assert problem in refused.value.fields["rule_id"][0]


def test_an_edit_is_the_rules_next_version_and_keeps_its_status() -> None:
    after = edited_rule(KWEGG, "video-10", {"event_type": "watched_video", "points": "150",
                                            "priority": 1, "conditions": [
        {"parameter": "duration", "operator": "equal_to", "value": 10}]})  # fmt: skip
    rule = after.rule("video-10")
    assert rule is not None
    assert (after.version, rule.version, rule.status, rule.points) == (2, 2, "active", Decimal(150))
    assert after.rules.index(rule) == 1  # in place


def test_an_edit_that_changes_nothing_is_no_version() -> None:
    same = KWEGG.rule("video-20")
    assert same is not None
    data = same.model_dump(mode="json", include=set(EDITABLE_FIELDS))
    assert edited_rule(KWEGG, "video-20", data) is KWEGG


def test_an_ended_rule_changes_no_more() -> None:
    ended = with_status(KWEGG, "video-20", "ended")
    with pytest.raises(Conflict, match="ended rules are history"):
        edited_rule(ended, "video-20", {"event_type": "watched_video", "points": 1})
    with pytest.raises(Conflict, match="cannot become active"):
        with_status(ended, "video-20", "active")


def test_status_moves_from_draft_to_active_to_ended_without_a_new_rule_version() -> None:
    draft = created_rule(KWEGG, "video-30", LONG_VIDEO)
    active = with_status(draft, "video-30", "active")
    rule = active.rule("video-30")
    assert rule is not None
    assert (active.version, rule.status, rule.version) == (3, "active", 1)
    assert with_status(active, "video-30", "active") is active
    with pytest.raises(Conflict, match="cannot become draft"):
        with_status(active, "video-30", "draft")
    changes = status_differences(draft, "video-30", "active")
    assert [(d.path, d.before, d.after) for d in changes] == [
        ("version", 2, 3), ("rules[video-30].status", "draft", "active"),
    ]  # fmt: skip
    with pytest.raises(NotFound):
        with_status(KWEGG, "nowhere", "active")


def problems(current: ProgrammeConfig, **changes: Any) -> dict[str, list[str]]:
    with pytest.raises(Invalid) as refused:
        created_rule(current, "x", {**LONG_VIDEO, **changes})
    return refused.value.fields


def test_the_models_problems_are_named_by_the_rules_own_fields() -> None:
    assert problems(
        KWEGG, conditions=[{"parameter": "duration", "operator": "contains", "value": 3}]
    ) == {"conditions.0.operator": ["'contains' does not apply to integer parameter 'duration'"]}
    assert problems(KWEGG, conditions=[
        {"parameter": "duration", "operator": "equal_to", "value": "ten"}]) == {
        "conditions.0.value": ["'ten' is not a integer value"]}  # fmt: skip
    assert problems(KWEGG, priority=1) == {
        "priority": ["2 rules of event type 'watched_video' share priority 1"]
    }
    assert problems(KWEGG, default=True, conditions=[]) == {
        "default": ["event type 'watched_video' has 2 default rules, at most 1"]
    }
    assert problems(KWEGG, points="0") == {
        "points": ["must be greater than 0 for points_type 'fixed'"]
    }


def test_all_problems_come_at_once_the_rules_and_the_programmes() -> None:
    found = problems(
        KWEGG, priority=1, frequency={"every": 0, "unit": "hours"},
        conditions=[{"parameter": "duration", "operator": "equal_to", "value": "ten"}],
    )  # fmt: skip
    assert found == {
        "frequency.every": ["Input should be greater than or equal to 1"],
        "conditions.0.value": ["'ten' is not a integer value"],
        "priority": ["2 rules of event type 'watched_video' share priority 1"],
    }


def test_union_members_are_left_out_of_problem_paths() -> None:
    invalid = Invalid({
        "frequency.literal['once','daily']": ["Input should be 'once' or 'daily'"],
        "frequency.RollingFrequency.every": ["too small"],
        "streak.before.before": ["Input should have timezone info"],
        "streak.daily": ["x"],
        "conditions.2.value.int": ["Input should be a valid integer"],
        "conditions.2.value.str": ["Input should be a valid string"],
    })  # fmt: skip
    assert normalised(invalid).fields == {
        "frequency.every": ["too small"],
        "streak.before": ["Input should have timezone info"],
        "streak": ["x"],
        "conditions.2.value": ["Input should be a valid integer", "Input should be a valid string"],
    }
    word = Invalid({"frequency.literal['once']": ["Input should be 'once'"],
                    "frequency.RollingFrequency": ["a valid dictionary"]})  # fmt: skip
    assert normalised(word).fields == {"frequency": ["Input should be 'once'"]}


def test_only_the_fields_an_author_sets_are_taken() -> None:
    with pytest.raises(Invalid) as refused:
        parse_rule("r", 1, "draft", {"event_type": "e", "points": 1, "status": "active"})
    assert refused.value.fields == {"status": ["not a field of a rule you can set"]}


def test_a_new_rules_id_and_priority_are_offered() -> None:
    assert free_rule_id(KWEGG, "Video 10!") == "video-10-2"
    assert free_rule_id(KWEGG, "Double points, weekend") == "double-points-weekend"
    assert free_rule_id(KWEGG, "   ") == "rule"
    assert next_priority(KWEGG, "watched_video") == 4
    assert next_priority(KWEGG, "daily_check_in") == 1


def test_rules_are_listed_in_the_order_the_engine_tries_them() -> None:
    rules = [
        Rule(rule_id="api", version=1, event_type="e", points=1, trigger="api",
             authorised_clients=("c",)),
        Rule(rule_id="default", version=1, event_type="e", points=1, default=True),
        Rule(rule_id="old", version=1, event_type="e", points=1, status="ended"),
        Rule(rule_id="second", version=1, event_type="e", points=1, priority=2),
        Rule(rule_id="streak", version=1, event_type="e", points=1,
             streak={"type": "daily", "events_per_day": 1, "days": 3}),
        Rule(rule_id="first", version=1, event_type="e", points=1, priority=1),
    ]  # fmt: skip
    assert [r.rule_id for r in ordered(rules)] == [
        "first", "second", "default", "streak", "api", "old",
    ]  # fmt: skip
    assert [name for name, _ in by_event_type(KWEGG)] == [e.name for e in KWEGG.event_types]


def test_an_event_type_is_added_or_its_parameters_replaced() -> None:
    added = with_event_type(KWEGG, EventType(name="rated", parameters=(
        Parameter(name="stars", type="integer", mandatory=True),)))  # fmt: skip
    assert (added.version, added.event_types[-1].name) == (2, "rated")
    changed = with_event_type(KWEGG, EventType(name="watched_video", parameters=(
        Parameter(name="duration", type="integer", mandatory=True),
        Parameter(name="genre", type="string"))))  # fmt: skip
    assert changed.event_types[1].parameter("genre") is not None
    with pytest.raises(Invalid) as refused:
        with_event_type(KWEGG, EventType(name="watched_video", parameters=(
            Parameter(name="duration", type="string"),)))  # fmt: skip
    assert (refused.value.fields, refused.value.general) == ({}, [
        "rule video-10: conditions.0.value: 10 is not a string value",
        "rule video-20: conditions.0.value: 20 is not a string value",
        "rule video-long: conditions.0.operator: 'greater_than' does not apply to string "
        "parameter 'duration'",
    ])  # fmt: skip
    with pytest.raises(Invalid, match="1 to 64"):
        with_event_type(KWEGG, EventType(name="with space"))


def test_an_event_type_in_use_is_not_removed() -> None:
    rules, partners = users_of_event_type(KWEGG, "watched_video")
    assert ([r.rule_id for r in rules], [p.partner_id for p in partners]) == (
        ["video-10", "video-20", "video-long", "video-default"], ["kwegg-tenant"],
    )  # fmt: skip
    with pytest.raises(Conflict) as refused:
        without_event_type(KWEGG, "watched_video")
    assert refused.value.message.startswith(
        "event type 'watched_video' is used by rule video-10 (active), rule video-20 (active)"
    )
    assert "partner kwegg-tenant" in refused.value.message
    after = without_event_type(KWEGG, "not_for_tenants")
    assert [e.name for e in after.event_types] == [
        "product_viewed", "watched_video", "daily_check_in",
    ]  # fmt: skip
    with pytest.raises(NotFound):
        without_event_type(KWEGG, "nothing")


def test_a_client_is_declared_once() -> None:
    after = with_api_client(E2E, ApiClient(client_id="crm", name="CRM"))
    assert (after.version, after.api_clients[-1]) == (2, ApiClient(client_id="crm", name="CRM"))
    again = with_api_client(after, ApiClient(client_id="crm"))
    assert unchanged(after, again)
    with pytest.raises(Invalid, match="1 to 64"):
        with_api_client(E2E, ApiClient(client_id="no/slash"))

"""Return event types: validated in the programme file; a return earns nothing and asks the
ledger to take back its share (`LedgerCommand.returning`), the same again when redelivered."""

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from processors.engine import UserState, decide, ledger_command_for
from schemas.events import event_id_for
from schemas.ledger import LedgerCommand, ReturnRequest
from schemas.programme import ProgrammeConfig
from schemas.reasons import ReasonCode
from tests.unit.engine.fixtures import config_dict, event, programme, rule, run

PURCHASE = {
    "name": "purchase",
    "parameters": [{"name": "amount", "type": "float", "mandatory": True}],
}
RETURN_PARAMETERS: list[dict[str, Any]] = [
    {"name": "original_reference_id", "type": "string", "mandatory": True},
    {"name": "amount", "type": "float", "mandatory": True},
]
RETURNED: dict[str, Any] = {
    "name": "purchase.returned",
    "parameters": RETURN_PARAMETERS,
    "returns": {"event_types": ["purchase"], "field": "amount"},
}
RULES = [
    rule("per-ghs", "purchase", points_type="per_unit", points=1, unit_field="amount"),
    rule("old", "purchase", status="ended"),
]
PARTNER = {"partner_id": "shop", "allowed_event_types": ["purchase", "purchase.returned"]}


def returns_programme(**fields: Any) -> Any:
    return programme([PURCHASE, RETURNED], RULES, partners=[PARTNER], **fields)


def test_a_return_asks_the_ledger_for_the_share_of_the_partners_original() -> None:
    returned = event(
        "purchase.returned",
        {"original_reference_id": "order-1", "amount": 30.5},
        partner_id="shop",
        reference_id="refund-1",
    )
    decision = decide(returned, UserState.initial(), returns_programme())
    original = event_id_for("test", "shop", "order-1")
    assert (decision.status, decision.points, decision.awards) == ("no_points", 0, ())
    command = ledger_command_for(returned, decision)
    assert command.bookings == []
    assert command.returning == ReturnRequest(
        original_event_id=original,
        award_keys=[f"{original}:old", f"{original}:per-ghs"],
        field="amount",
        amount=Decimal("30.5"),
    )
    again = ledger_command_for(returned, decide(returned, decision.state, returns_programme()))
    # A redelivery asks the same (the ledger's digest leaves the explanation out, which says
    # that it gave back nothing more).
    assert booked(again) == booked(command)
    assert again.explanation != command.explanation


def booked(command: LedgerCommand) -> LedgerCommand:
    return command.model_copy(update={"explanation": None})


def test_an_internal_services_return_names_its_originals_event_id() -> None:
    returned = event("purchase.returned", {"original_reference_id": "evt-9", "amount": 2})
    decision = decide(returned, UserState.initial(), returns_programme())
    assert decision.returning is not None
    assert decision.returning.original_event_id == "evt-9"


@pytest.mark.parametrize("amount", [0, -1, True])
def test_a_return_of_nothing_is_an_invalid_event(amount: object) -> None:
    returned = event("purchase.returned", {"original_reference_id": "o", "amount": amount})
    decision = decide(returned, UserState.initial(), returns_programme())
    assert decision.status == "invalid_event"
    assert decision.returning is None
    assert decision.explanation.reason_code in {
        ReasonCode.INVALID_AMOUNT, ReasonCode.INVALID_PARAMETERS,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"returns": {"event_types": ["nope"], "field": "amount"}}, "not a declared event type"),
        ({"returns": {"event_types": ["purchase"], "field": "qty"}}, "mandatory numeric"),
        ({"parameters": RETURN_PARAMETERS[1:]}, "original_reference_id"),
        ({"returns": {"event_types": ["purchase.returned"], "field": "amount"}}, "return type"),
    ],
)
def test_a_return_type_is_validated(change: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        ProgrammeConfig.model_validate(config_dict([PURCHASE, {**RETURNED, **change}], RULES))


def test_a_return_type_has_no_rules() -> None:
    rules = [*RULES, rule("refund", "purchase.returned")]
    with pytest.raises(ValidationError, match="it has no rules"):
        ProgrammeConfig.model_validate(config_dict([PURCHASE, RETURNED], rules))


def test_the_spent_points_policy_is_shortfall_unless_set() -> None:
    config = ProgrammeConfig.model_validate(config_dict([PURCHASE, RETURNED], RULES))
    assert config.returns.spent_points == "shortfall"
    negative = config_dict(
        [PURCHASE, RETURNED], RULES, returns={"spent_points": "negative_balance"}
    )
    assert ProgrammeConfig.model_validate(negative).returns.spent_points == "negative_balance"


CAPPED = [
    rule(
        "per-ghs", "purchase", points_type="per_unit", points=1, unit_field="amount",
        daily_cap=100, budget_max=1_000,
    )
]  # fmt: skip


def test_a_return_gives_back_the_caps_and_budget_its_share_used_once() -> None:
    compiled = programme([PURCHASE, RETURNED], CAPPED)
    buy = event("purchase", {"amount": 100}, event_id="buy")
    capped = event("purchase", {"amount": 50})
    refund = event("purchase.returned", {"original_reference_id": "buy", "amount": 40})
    after = event("purchase", {"amount": 50})
    first, cut = run([buy, capped], compiled)
    assert (first.points, cut.points) == (100, 0)
    returned = decide(refund, cut.state, compiled, budget_used={"per-ghs": 100})
    assert returned.budget_consumed == {"per-ghs": -40}
    assert returned.state.caps["purchase"][1] == 60
    again = decide(refund, returned.state, compiled)
    assert (again.budget_consumed, again.state.caps) == ({}, returned.state.caps)
    [earned] = run([after], compiled, returned.state)
    assert earned.points == 40


def test_returns_past_the_original_give_back_nothing_more() -> None:
    compiled = programme([PURCHASE, RETURNED], CAPPED)
    buy = event("purchase", {"amount": 10}, event_id="buy")
    decisions = run(
        [
            buy,
            event("purchase.returned", {"original_reference_id": "buy", "amount": 7}),
            event("purchase.returned", {"original_reference_id": "buy", "amount": 7}),
            event("purchase.returned", {"original_reference_id": "buy", "amount": 3}),
        ],
        compiled,
    )
    assert [d.budget_consumed for d in decisions[1:]] == [{"per-ghs": -7}, {}, {"per-ghs": -3}]
    assert decisions[-1].state.caps["purchase"][1] == 0

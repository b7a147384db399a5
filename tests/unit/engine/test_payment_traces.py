"""The payment traces shared between decisions (`CompiledProgramme.payment_traces`): a fixed
rule paid in full renders once per rule, tier and partner, and every explanation reads exactly
what rendering it afresh gives; a payment that was cut is rendered for its own event."""

from processors.engine import UserState, decide
from processors.engine.compile import CompiledProgramme
from processors.engine.details import _payment
from tests.unit.engine.fixtures import event, programme, rule

VIDEO = {"name": "video"}
PARTNERS = [{"partner_id": "p-double", "multiplier": "2", "allowed_event_types": ["video"]}]


def _programme() -> CompiledProgramme:
    return programme([VIDEO], [rule("r", "video", default=True, daily_cap=25)], partners=PARTNERS)


def test_a_full_payment_shares_one_trace_per_rule_tier_and_partner() -> None:
    compiled = _programme()
    first = decide(event("video"), UserState.initial(), compiled)
    second = decide(event("video"), UserState.initial(), compiled)
    partner = decide(event("video", partner_id="p-double"), UserState.initial(), compiled)
    assert first.explanation.rules[0] is second.explanation.rules[0]
    assert partner.explanation.rules[0] is not first.explanation.rules[0]
    assert first.explanation.rules[0].detail == "10 * tier Bronze 1 * partner 1 = 10 (floor)"
    assert partner.explanation.rules[0].detail == "10 * tier Bronze 1 * partner 2 = 20 (floor)"
    assert len(compiled.payment_traces) == 2


def test_a_cut_payment_is_rendered_for_its_own_event_and_not_shared() -> None:
    compiled = _programme()
    state = UserState.initial()
    traces = []
    for _ in range(3):  # 10, 10, then the daily cap of 25 cuts 10 to 5
        decision = decide(event("video"), state, compiled)
        traces.append(decision.explanation.rules[0])
        state = decision.state
    assert traces[0] is traces[1]
    assert traces[2].points == 5
    cut = "10 * tier Bronze 1 * partner 1 = 10 (floor); daily_cap 25 cut 10 -> 5"
    assert traces[2].detail == cut
    assert traces[2].reason == "daily cap 25: cut from 10 to 5"
    assert list(compiled.payment_traces.values()) == [traces[0]]


def test_the_shared_trace_is_what_rendering_it_afresh_gives() -> None:
    compiled = _programme()
    shared = decide(event("video"), UserState.initial(), compiled).explanation.rules[0]
    rule_ = compiled.rules_by_id["r"]
    fresh = _payment(rule_, None, None, compiled, "Bronze", None, 10, [0, 0, 0, 0], None)
    assert fresh == shared
    assert fresh is not shared

"""Every variety's entries fall in the flow the programme owner's metric names for them."""

from ledger.core.accounts import ProgrammePolicy
from ledger.core.batch import BatchPlan, IncomingCommand, LedgerSnapshot
from ledger.core.funding import funding_accounts, funding_booking, plan_funding
from ledger.core.planner import needed_accounts, plan_batch
from ledger.point_flows import OTHER, flow, points_by_flow
from schemas.ledger import OutcomeStatus, Variety
from tests.unit.ledger.fixtures import RECORDED_AT, booking, command

PROGRAMMES = {
    "prog": ProgrammePolicy(funded=False),
    "returns": ProgrammePolicy(funded=False, account_closure_returns_to_budget=True),
}


def planned(*commands: IncomingCommand) -> BatchPlan:
    balances = dict.fromkeys(needed_accounts(commands, PROGRAMMES), 0)
    plan = plan_batch(commands, LedgerSnapshot(PROGRAMMES, balances, {}, {}), RECORDED_AT)
    assert [p.outcome.status for p in plan.outcomes] == [OutcomeStatus.BOOKED] * len(commands)
    return plan


def test_each_variety_is_counted_in_its_flow() -> None:
    plan = planned(
        command("1", "alice", booking("award", 100)),
        command("2", "alice", booking("adjust", 5, debit=True, variety=Variety.ADJUSTMENT)),
        command("3", "alice", booking("order", 30, debit=True, variety=Variety.REDEMPTION)),
        command("4", "alice", booking("cancel", 10, variety=Variety.ORDER_CANCELATION)),
        command(
            "5",
            "alice",
            booking(
                "gift", 7, debit=True, variety=Variety.PERSON_TO_PERSON_TRANSFER, counterparty="bob"
            ),
        ),
        command("6", "alice", booking("correct", 20, debit=True, reverses="award")),
        command("7", "alice", booking("close", 48, debit=True, variety=Variety.ACCOUNT_CLOSURE)),
        command("8", "carol", booking("award-r", 10), programme_id="returns"),
        command(
            "9",
            "carol",
            booking("close-r", 10, debit=True, variety=Variety.ACCOUNT_CLOSURE),
            programme_id="returns",
        ),
    )
    assert points_by_flow(plan.entries) == {
        ("prog", "issued"): 100,
        ("prog", "deducted"): 5,
        ("prog", "redeemed"): 30,
        ("prog", "refunded"): 10,
        ("prog", "transferred"): 7,
        ("prog", "reversed"): 20,
        ("prog", "expired"): 48,
        ("returns", "issued"): 10,
        ("returns", "deducted"): 10,
    }


def test_points_of_one_flow_add_up_over_the_batch() -> None:
    plan = planned(
        command("1", "alice", booking("a1", 3), booking("a2", 4)),
        command("2", "bob", booking("b1", 5)),
    )
    assert points_by_flow(plan.entries) == {("prog", "issued"): 12}


def test_funding_a_budget_is_no_flow_of_the_writer() -> None:
    accounts = dict.fromkeys(funding_accounts("prog"), 0)
    _, entry = plan_funding(
        "prog", funding_booking("fund", 500, "funding"), accounts, None, RECORDED_AT
    )
    assert entry is not None
    assert flow(entry) == OTHER

from ledger.core.accounts import AccountKey, AccountKind, ProgrammePolicy
from ledger.core.budgets import needed_rule_usage
from schemas.ledger import OutcomeStatus, RejectionReason, Variety
from tests.unit.ledger.fixtures import MemoryLedger, booking, command

BUDGET = AccountKey.programme("prog", AccountKind.BUDGET)


def budgeted_ledger(**rule_budgets: int) -> MemoryLedger:
    return MemoryLedger(
        programmes={"prog": ProgrammePolicy(funded=False, rule_budgets=rule_budgets)}
    )


def test_an_award_past_the_rules_budget_is_refused_and_changes_nothing() -> None:
    ledger = budgeted_ledger(r1=100)
    [first] = ledger.apply(command("e1", "alice", booking("e1:r1", 60, rule="r1")))
    [second] = ledger.apply(command("e2", "bob", booking("e2:r1", 41, rule="r1")))
    assert first.status is OutcomeStatus.BOOKED
    assert second.status is OutcomeStatus.REJECTED
    assert second.reason_code is RejectionReason.RULE_BUDGET_EXHAUSTED
    assert second.reason_code.http_status == 412
    assert second.reason == "Rule r1 has 40 of its 100 budget points left"
    assert ledger.rule_usage == {("prog", "r1"): 60}
    assert ledger.user_balance("bob") == 0
    assert "e2:r1" not in ledger.entries
    [third] = ledger.apply(command("e3", "bob", booking("e3:r1", 40, rule="r1")))
    assert third.status is OutcomeStatus.BOOKED
    assert ledger.rule_usage == {("prog", "r1"): 100}


def test_in_one_batch_awards_are_booked_in_order_until_the_budget_is_spent() -> None:
    ledger = budgeted_ledger(r1=100)
    outcomes = ledger.apply(
        command("e1", "alice", booking("e1:r1", 50, rule="r1")),
        command("e2", "bob", booking("e2:r1", 30, rule="r1")),
        command("e3", "carol", booking("e3:r1", 30, rule="r1")),
        command("e4", "dave", booking("e4:r1", 20, rule="r1")),
    )
    assert [o.status for o in outcomes] == [
        OutcomeStatus.BOOKED,
        OutcomeStatus.BOOKED,
        OutcomeStatus.REJECTED,
        OutcomeStatus.BOOKED,
    ]
    assert ledger.rule_usage == {("prog", "r1"): 100}
    assert sum(ledger.user_balance(u) for u in ("alice", "bob", "carol", "dave")) == 100


def test_a_refused_award_refuses_its_whole_command_and_its_other_rules_usage() -> None:
    ledger = budgeted_ledger(r1=100, r2=10)
    [outcome] = ledger.apply(
        command("e1", "alice", booking("e1:r1", 50, rule="r1"), booking("e1:r2", 11, rule="r2"))
    )
    assert outcome.reason_code is RejectionReason.RULE_BUDGET_EXHAUSTED
    assert ledger.rule_usage == {("prog", "r1"): 0, ("prog", "r2"): 0}
    assert ledger.user_balance("alice") == 0
    assert ledger.entries == {}


def test_rules_without_a_budget_and_other_varieties_use_no_budget() -> None:
    ledger = budgeted_ledger(r1=10)
    outcomes = ledger.apply(
        command("e1", "alice", booking("e1:r2", 500, rule="r2")),
        command("e2", "alice", booking("e2", 500, variety=Variety.ADJUSTMENT)),
        command("e3", "alice", booking("e3:r1", 20, debit=True, rule="r1")),
        command("e4", "alice", booking("e4:r1", 20, variety=Variety.REDEMPTION, debit=True)),
    )
    assert [o.status for o in outcomes] == [OutcomeStatus.BOOKED] * 4
    assert ledger.rule_usage == {}


def test_a_repeated_award_uses_the_budget_once() -> None:
    ledger = budgeted_ledger(r1=100)
    award = command("e1", "alice", booking("e1:r1", 100, rule="r1"))
    ledger.apply(award)
    [again] = ledger.apply(award)
    [replayed] = ledger.apply(command("e1-again", "alice", booking("e1:r1", 100, rule="r1")))
    assert again.status is OutcomeStatus.DUPLICATE
    assert replayed.status is OutcomeStatus.DUPLICATE
    assert ledger.rule_usage == {("prog", "r1"): 100}


def test_a_reversal_gives_the_points_back_to_the_rules_budget() -> None:
    ledger = budgeted_ledger(r1=100)
    ledger.apply(command("e1", "alice", booking("e1:r1", 100, rule="r1")))
    [reversal] = ledger.apply(
        command("fix", "alice", booking("fix", 30, debit=True, reverses="e1:r1"))
    )
    assert reversal.status is OutcomeStatus.BOOKED
    assert ledger.rule_usage == {("prog", "r1"): 70}
    [refill] = ledger.apply(command("e2", "bob", booking("e2:r1", 30, rule="r1")))
    assert refill.status is OutcomeStatus.BOOKED
    assert ledger.rule_usage == {("prog", "r1"): 100}


def test_a_reversal_in_the_same_batch_as_its_award_gives_back_in_order() -> None:
    ledger = budgeted_ledger(r1=100)
    outcomes = ledger.apply(
        command("e1", "alice", booking("e1:r1", 100, rule="r1")),
        command("e2", "bob", booking("e2:r1", 10, rule="r1")),
        command("fix", "alice", booking("fix", 10, debit=True, reverses="e1:r1")),
        command("e3", "bob", booking("e3:r1", 10, rule="r1")),
    )
    assert [o.status for o in outcomes] == [
        OutcomeStatus.BOOKED,
        OutcomeStatus.REJECTED,
        OutcomeStatus.BOOKED,
        OutcomeStatus.BOOKED,
    ]
    assert ledger.rule_usage == {("prog", "r1"): 100}


def test_a_refused_reversal_gives_nothing_back() -> None:
    ledger = budgeted_ledger(r1=100)
    ledger.apply(command("e1", "alice", booking("e1:r1", 100, rule="r1")))
    ledger.apply(
        command("spend", "alice", booking("spend", 95, debit=True, variety=Variety.REDEMPTION))
    )
    [refused] = ledger.apply(
        command("fix", "alice", booking("fix", 10, debit=True, reverses="e1:r1"))
    )
    assert refused.reason_code is RejectionReason.INSUFFICIENT_POINTS
    assert ledger.rule_usage == {("prog", "r1"): 100}


def test_giving_back_an_award_booked_before_the_rule_had_a_budget_stops_at_zero() -> None:
    ledger = MemoryLedger()
    ledger.apply(command("e1", "alice", booking("e1:r1", 100, rule="r1")))
    ledger.programmes["prog"] = ProgrammePolicy(funded=False, rule_budgets={"r1": 50})
    ledger.apply(command("e2", "bob", booking("e2:r1", 20, rule="r1")))
    ledger.apply(command("fix", "alice", booking("fix", 60, debit=True, reverses="e1:r1")))
    assert ledger.rule_usage == {("prog", "r1"): 0}


def test_a_lower_budget_refuses_awards_until_reversals_make_room() -> None:
    ledger = budgeted_ledger(r1=100)
    ledger.apply(command("e1", "alice", booking("e1:r1", 80, rule="r1")))
    ledger.programmes["prog"] = ProgrammePolicy(funded=False, rule_budgets={"r1": 50})
    [refused] = ledger.apply(command("e2", "bob", booking("e2:r1", 1, rule="r1")))
    assert refused.reason == "Rule r1 has 0 of its 50 budget points left"
    ledger.apply(command("fix", "alice", booking("fix", 40, debit=True, reverses="e1:r1")))
    [booked] = ledger.apply(command("e3", "bob", booking("e3:r1", 10, rule="r1")))
    assert booked.status is OutcomeStatus.BOOKED
    assert ledger.rule_usage == {("prog", "r1"): 50}


def test_batches_without_rule_budgets_need_no_usage_row() -> None:
    plain = {"prog": ProgrammePolicy(funded=False)}
    commands = [command("e1", "alice", booking("e1:r1", 10, rule="r1"))]
    assert needed_rule_usage(commands, plain, {}) == set()
    budgeted = {"prog": ProgrammePolicy(funded=False, rule_budgets={"r1": 5})}
    assert needed_rule_usage(commands, budgeted, {}) == {("prog", "r1")}
    ledger = budgeted_ledger(r1=5)
    ledger.apply(command("e0", "alice", booking("e0:r2", 10, rule="r2")))
    assert ledger.rule_usage == {}
    assert ledger.balances[BUDGET] == -10

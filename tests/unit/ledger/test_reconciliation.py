"""The reconciliation's comparisons, on facts as the check's queries return them."""

from typing import Any

import pytest

from ledger.core.reconciliation import (
    AccountFacts,
    Check,
    CommandFacts,
    Finding,
    ProgrammeSums,
    Tally,
    account_findings,
    command_findings,
)


def account(
    kind: str | None = "user", owner: str = "alice", *, funded: bool = False, **changes: Any
) -> AccountFacts:
    facts = AccountFacts(
        account_id=7, programme_id="p", kind=kind, owner_id=owner, funded=funded, cached=50,
        from_entries=50, entries=3, latest_balance_after=50, chain_breaks=0,
        first_break_entry_id=None, foreign_entries=0,
    )  # fmt: skip
    return facts._replace(**changes)


def booked(**changes: Any) -> CommandFacts:
    facts = CommandFacts(
        command_id="evt_1", programme_id="p", user_id="alice", status="booked", points=10,
        balance_after=60, entries=1, account_points=10, account_balance_after=60,
    )  # fmt: skip
    return facts._replace(**changes)


def checks(findings: list[Finding]) -> list[Check]:
    return [finding.check for finding in findings]


def test_a_consistent_account_has_no_finding() -> None:
    assert account_findings(account()) == []
    empty = account(entries=0, cached=0, from_entries=0, latest_balance_after=None)
    assert account_findings(empty) == []


def test_a_cached_balance_that_disagrees() -> None:
    [finding] = account_findings(account(cached=57))
    assert finding == Finding(
        Check.BALANCES,
        "account 7 (p user alice): cached balance 57, from its 3 entries 50, "
        "latest balance-after 50",
    )
    assert checks(account_findings(account(latest_balance_after=49))) == [Check.BALANCES]


def test_a_broken_running_balance() -> None:
    [finding] = account_findings(account(chain_breaks=2, first_break_entry_id=31))
    assert finding.check is Check.BALANCES
    assert finding.text.endswith("2 entries' balance-after does not follow from the entry before, "
                                 "first entry 31")  # fmt: skip


def test_legs_in_another_programme_or_on_no_account() -> None:
    assert checks(account_findings(account(foreign_entries=1))) == [Check.DOUBLE_ENTRY]
    missing = account(programme_id=None, kind=None, owner_id=None, cached=0, entries=2)
    assert account_findings(missing) == [
        Finding(Check.DOUBLE_ENTRY, "2 entries name account 7, which does not exist")
    ]


@pytest.mark.parametrize(
    ("kind", "funded", "allowed"),
    [
        ("user", False, False),
        ("redeemed", False, False),
        ("expired", False, False),
        ("pending", False, False),
        ("budget", True, False),
        ("budget", False, True),
        ("funding", True, True),
    ],
)
def test_floors(kind: str, funded: bool, allowed: bool) -> None:
    below = account(kind, "alice" if kind == "user" else "", funded=funded,
                    cached=-5, from_entries=-5, latest_balance_after=-5)  # fmt: skip
    assert checks(account_findings(below)) == ([] if allowed else [Check.FLOORS])


def test_a_booked_outcome_against_its_entries() -> None:
    assert command_findings(booked()) == []
    assert command_findings(booked(points=0, entries=0, account_points=0,
                                   account_balance_after=None)) == []  # fmt: skip
    [points] = command_findings(booked(account_points=12))
    assert points.text == (
        "command evt_1 (p) booked 10 points; its 1 entries move 12 on its user's account"
    )
    [after] = command_findings(booked(account_balance_after=61))
    assert after.text == (
        "command evt_1 (p) says balance 60 after it; its last entry on its user's account says 61"
    )
    [funding] = command_findings(booked(user_id=None, account_points=9))
    assert "on the programme's budget account" in funding.text


def test_rejected_and_duplicate_outcomes_have_no_entries() -> None:
    for status in ("rejected", "duplicate"):
        assert command_findings(booked(status=status, entries=0, account_points=0)) == []
        [finding] = command_findings(booked(status=status))
        assert finding.text == f"command evt_1 is {status} but has 1 entries"


def test_entries_without_an_outcome() -> None:
    orphan = booked(programme_id=None, user_id=None, status=None, points=0, balance_after=None)
    assert command_findings(orphan) == [
        Finding(Check.OUTCOMES, "1 entries of command evt_1 have no stored outcome")
    ]


def test_each_programme_sums_to_zero() -> None:
    sums = ProgrammeSums()
    sums.add(account(cached=50, from_entries=50))
    sums.add(account("budget", "", cached=-50, from_entries=-50))
    sums.add(account(programme_id="q", cached=3, from_entries=0))
    sums.add(account(programme_id=None, kind=None))
    assert sums.findings() == [
        Finding(Check.DOUBLE_ENTRY, "programme q: its balances sum to 3 (from entries 0), not 0")
    ]


def test_a_tally_counts_all_and_keeps_the_first() -> None:
    tally = Tally(2)
    tally.add([Finding(Check.OUTCOMES, f"o{index}") for index in range(5)])
    tally.add([Finding(Check.FLOORS, "f")])
    results = {result.check: result for result in tally.results()}
    assert (results[Check.OUTCOMES].found, results[Check.OUTCOMES].examples) == (5, ("o0", "o1"))
    assert (results[Check.FLOORS].found, results[Check.BALANCES].found) == (1, 0)
    with pytest.raises(ValueError, match="examples_max"):
        Tally(1_001)

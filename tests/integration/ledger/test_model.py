"""Model-based test: random credits, debits, transfers, reversals, redeliveries and conflicts are
booked into the real Postgres in random batches and compared with a small in-memory model.

After every batch: the database's balances equal the model's, all accounts sum to zero, every
balance equals the sum of its postings and its latest balance-after, no balance is below its
floor, and every outcome (booked, duplicate, rejected) is the model's. Credits may name a rule
with a budget (or one without): the usage the ledger stores is the model's, and an award past the
budget is refused; reversals of budgeted awards give their points back. Claims commands credit
several users at once (bookings naming their own users), all or nothing."""

import asyncio
from dataclasses import dataclass

import asyncpg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ledger.check import check_ledger
from ledger.core.batch import IncomingCommand
from ledger.loading import AccountIds
from ledger.repository import Batch, apply_batch, fund_budget
from schemas.ledger import Booking, OutcomeStatus, Variety
from tests.integration.ledger.conftest import create_programme
from tests.unit.ledger.fixtures import booking, command

pytestmark = pytest.mark.integration

USERS = ("u0", "u1", "u2")
FUNDING = 300
RULES = (None, "capped", "free")
points = st.integers(min_value=1, max_value=120)


@dataclass(frozen=True)
class Sent:
    incoming: IncomingCommand
    moves: tuple[tuple[str, str, int], ...] | None
    """(debit account, credit account, points) of each booking in the model's names; None if
    invalid."""
    reverses: str | None = None
    rule: str | None = None


class LedgerMachine(RuleBasedStateMachine):
    database_url = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.conn: asyncpg.Connection = self.loop.run_until_complete(
            asyncpg.connect(self.database_url)
        )
        self.balances: dict[str, int] = {}
        self.floors: dict[str, bool] = {}
        self.seen: dict[str, tuple[Sent, bool]] = {}
        self.reversed_points: dict[str, int] = {}
        self.credits: list[str] = []
        self.credited: dict[str, tuple[str, int, str | None]] = {}
        """(user, points, rule) of each booked credit, by booking key: what a reversal undoes."""
        self.pending: list[Sent] = []
        self.expected: list[OutcomeStatus] = []
        self.counter = 0
        self.account_ids = AccountIds()
        self.rule_used = 0

    def teardown(self) -> None:
        self.loop.run_until_complete(self.conn.close())
        self.loop.close()

    @initialize(funded=st.booleans(), rule_budget=st.sampled_from([None, 150, 400]))
    def programme(self, funded: bool, rule_budget: int | None) -> None:
        self.funded = funded
        self.rule_budget = rule_budget
        self.prog = self.loop.run_until_complete(
            create_programme(
                self.conn, funded=funded, rule_budgets={"capped": rule_budget, "free": None}
            )
        )
        if funded:
            self.loop.run_until_complete(fund_budget(self.conn, self.prog, FUNDING, self.prog))
            self.balances["funding"], self.balances["budget"] = -FUNDING, FUNDING

    def _key(self) -> str:
        self.counter += 1
        return f"{self.prog}-{self.counter}"

    def _send(self, move: tuple[str, str, int] | None, user: str, b: Booking) -> None:
        incoming = command(b.idempotency_key, user, b, programme_id=self.prog)
        moves = None if move is None else (move,)
        self.pending.append(Sent(incoming, moves, b.reverses, b.lineage.rule_id))

    @rule(user=st.sampled_from(USERS), amount=points, rule_id=st.sampled_from(RULES))
    def credit(self, user: str, amount: int, rule_id: str | None) -> None:
        self._send(("budget", user, amount), user, booking(self._key(), amount, rule=rule_id))

    @rule(user=st.sampled_from(USERS), amount=points, redeem=st.booleans())
    def debit(self, user: str, amount: int, redeem: bool) -> None:
        variety = Variety.REDEMPTION if redeem else Variety.PROGRAMME_POINTS
        target = "redeemed" if redeem else "budget"
        b = booking(self._key(), amount, debit=True, variety=variety)
        self._send((user, target, amount), user, b)

    @rule(giver=st.sampled_from(USERS), taker=st.sampled_from(USERS), amount=points)
    def transfer(self, giver: str, taker: str, amount: int) -> None:
        moves = None if giver == taker else (giver, taker, amount)
        variety = Variety.PERSON_TO_PERSON_TRANSFER
        b = booking(self._key(), amount, debit=True, variety=variety, counterparty=taker)
        self._send(moves, giver, b)

    @rule(
        users=st.lists(st.sampled_from(USERS), min_size=1, max_size=3),
        amounts=st.lists(points, min_size=3, max_size=3),
    )
    def claims(self, users: list[str], amounts: list[int]) -> None:
        """One command crediting several users (the first is the command's own user, whose
        bookings name no user)."""
        command_id = self._key()
        owner = users[0]
        credits = list(zip(users, amounts, strict=False))
        bookings = [
            booking(f"{command_id}:{i}", amount, user=None if user == owner else user)
            for i, (user, amount) in enumerate(credits)
        ]
        moves = tuple(("budget", user, amount) for user, amount in credits)
        incoming = command(command_id, owner, *bookings, programme_id=self.prog)
        self.pending.append(Sent(incoming, moves))

    @precondition(lambda self: bool(self.credits))
    @rule(data=st.data(), amount=points)
    def reverse(self, data: st.DataObject, amount: int) -> None:
        target = data.draw(st.sampled_from(self.credits))
        user = self.credited[target][0]
        b = booking(self._key(), amount, debit=True, reverses=target)
        self._send((user, "budget", amount), user, b)

    @precondition(lambda self: bool(self.seen))
    @rule(data=st.data(), change=st.booleans())
    def redeliver(self, data: st.DataObject, change: bool) -> None:
        key = data.draw(st.sampled_from(sorted(self.seen)))
        sent, _ = self.seen[key]
        incoming = sent.incoming
        if change:
            old = incoming.command.bookings[0]
            altered = old.model_copy(update={"points": old.points + 1})
            incoming = IncomingCommand.of(
                incoming.command.model_copy(update={"bookings": [altered]})
            )
        self.pending.append(Sent(incoming, sent.moves, sent.reverses, sent.rule))

    @rule(expect_new=st.booleans(), remember_ids=st.booleans())
    def flush(self, expect_new: bool, remember_ids: bool) -> None:
        """`expect_new`: the writer's hint that nothing is stored yet, right or wrong;
        `remember_ids`: whether account ids from earlier batches are reused."""
        batch, self.pending = self.pending, []
        expected = [self._model_apply(sent) for sent in batch]
        commands = [sent.incoming for sent in batch]
        account_ids = self.account_ids if remember_ids else None
        plan = self.loop.run_until_complete(
            apply_batch(self.conn, Batch(commands, expect_new=expect_new), None, account_ids)
        )
        assert [p.outcome.status for p in plan.outcomes] == expected

    def _model_apply(self, sent: Sent) -> OutcomeStatus:
        key = sent.incoming.command.command_id
        if key in self.seen:
            original, _ = self.seen[key]
            same = original.incoming.payload_sha256 == sent.incoming.payload_sha256
            return OutcomeStatus.DUPLICATE if same else OutcomeStatus.REJECTED
        booked = self._move(sent)
        self.seen[key] = (sent, booked)
        if booked and sent.moves is not None and sent.reverses is None:
            bookings = sent.incoming.command.bookings
            for b, (debit, credit, amount) in zip(bookings, sent.moves, strict=True):
                if debit == "budget":
                    self.credits.append(b.idempotency_key)
                    self.credited[b.idempotency_key] = (credit, amount, sent.rule)
        return OutcomeStatus.BOOKED if booked else OutcomeStatus.REJECTED

    def _move(self, sent: Sent) -> bool:
        """All of the command's moves, or none of them."""
        if sent.moves is None:
            return False
        if sent.reverses is not None:
            original = self.credited[sent.reverses][1]
            amount = sent.moves[0][2]
            if self.reversed_points.get(sent.reverses, 0) + amount > original:
                return False
        balances = dict(self.balances)
        for debit, credit, amount in sent.moves:
            may_go_negative = debit == "funding" or (debit == "budget" and not self.funded)
            if balances.get(debit, 0) < amount and not may_go_negative:
                return False
            balances[debit] = balances.get(debit, 0) - amount
            balances[credit] = balances.get(credit, 0) + amount
        amount = sent.moves[0][2]
        if not self._use_rule_budget(sent, amount):
            return False
        self.balances = balances
        if sent.reverses is not None:
            self.reversed_points[sent.reverses] = (
                self.reversed_points.get(sent.reverses, 0) + amount
            )
        return True

    def _use_rule_budget(self, sent: Sent, amount: int) -> bool:
        """The capped rule's usage after an award of it (refused past the budget) or after a
        reversal of one (given back)."""
        if self.rule_budget is None:
            return True
        if sent.reverses is not None:
            if self.credited[sent.reverses][2] == "capped":
                self.rule_used -= amount
            return True
        if sent.rule != "capped":
            return True
        if self.rule_used + amount > self.rule_budget:
            return False
        self.rule_used += amount
        return True

    @invariant()
    def rule_budget_equals_model(self) -> None:
        if not hasattr(self, "prog"):
            return
        used = self.loop.run_until_complete(
            self.conn.fetchval(
                """SELECT used_points FROM ledger.rule_budget_usage
                   WHERE programme_id = $1 AND rule_id = 'capped'""",
                self.prog,
            )
        )
        assert (used or 0) == self.rule_used
        if self.rule_budget is not None:
            assert (used or 0) <= self.rule_budget

    @invariant()
    def database_equals_model(self) -> None:
        if not hasattr(self, "prog"):
            return
        rows = self.loop.run_until_complete(
            self.conn.fetch(
                "SELECT kind, owner_id, balance FROM ledger.accounts WHERE programme_id = $1",
                self.prog,
            )
        )
        stored = {row["owner_id"] or row["kind"]: row["balance"] for row in rows}
        model = {name: value for name, value in self.balances.items() if value}
        assert {name: value for name, value in stored.items() if value} == model
        assert all(value >= 0 for name, value in stored.items() if name in USERS)
        if self.funded:
            assert stored.get("budget", 0) >= 0
        report = self.loop.run_until_complete(check_ledger(self.conn, self.prog))
        assert report.ok, report


@pytest.mark.timeout(300)
def test_ledger_matches_its_model(postgres_url: str) -> None:
    LedgerMachine.database_url = postgres_url
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )

import pytest

from ledger.core.accounts import AccountKey, ProgrammePolicy
from ledger.core.rejections import Rejection
from ledger.core.varieties import RULES, Route, route, static_route
from schemas.ledger import TransactionType, Variety
from tests.unit.ledger.fixtures import booking

PERMITTED = {
    Variety.PROGRAMME_POINTS: {"Credit", "Debit"},
    Variety.POINTS_ERROR: {"Credit", "Debit"},
    Variety.PROGRAMME_BUDGET: {"Credit", "Debit"},
    Variety.REDEMPTION: {"Debit"},
    Variety.PERSON_TO_PERSON_TRANSFER: {"Credit", "Debit"},
    Variety.ORDER_CANCELATION: {"Credit"},
    Variety.ORDER_ADJUSTMENT: {"Credit", "Debit"},
    Variety.ADJUSTMENT: {"Credit", "Debit"},
    Variety.ACCOUNT_CLOSURE: {"Debit"},
    Variety.POINTS_EXPIRY: set(),
    Variety.POINTS_RELEASE: set(),  # the ledger's own: no command may book it
    Variety.RETURN: set(),  # the ledger books it for a return's command
}


def test_every_variety_has_a_rule() -> None:
    assert set(RULES) == set(Variety)


@pytest.mark.parametrize("variety", list(Variety))
@pytest.mark.parametrize("transaction_type", list(TransactionType))
def test_permitted_types_follow_myrewards(
    variety: Variety, transaction_type: TransactionType
) -> None:
    counterparty = "bob" if variety is Variety.PERSON_TO_PERSON_TRANSFER else None
    booked = booking(
        "k",
        1,
        debit=transaction_type is TransactionType.DEBIT,
        variety=variety,
        counterparty=counterparty,
    )
    routed = route("prog", "alice", booked, ProgrammePolicy(funded=False))
    permitted = transaction_type in PERMITTED[variety]
    assert isinstance(routed, Route) == permitted
    if isinstance(routed, Route):
        user = AccountKey.user("prog", "alice")
        is_credit = transaction_type is TransactionType.CREDIT
        assert (routed.credit if is_credit else routed.debit) == user
    else:
        assert isinstance(routed, Rejection)


@pytest.mark.parametrize("variety", list(Variety))
@pytest.mark.parametrize("transaction_type", list(TransactionType))
@pytest.mark.parametrize("counterparty", [None, "bob", "alice"])
@pytest.mark.parametrize("closure_returns", [False, True])
def test_the_route_worked_out_at_decode_is_the_route(
    variety: Variety,
    transaction_type: TransactionType,
    counterparty: str | None,
    closure_returns: bool,
) -> None:
    """Where the static route is known it is the route under any programme configuration;
    where it is not (None), only an account closure depends on the configuration."""
    booked = booking(
        "k",
        1,
        debit=transaction_type is TransactionType.DEBIT,
        variety=variety,
        counterparty=counterparty,
    )
    policy = ProgrammePolicy(funded=False, account_closure_returns_to_budget=closure_returns)
    static = static_route("prog", "alice", booked)
    if static is None:
        assert variety is Variety.ACCOUNT_CLOSURE
    else:
        assert static == route("prog", "alice", booked, policy)

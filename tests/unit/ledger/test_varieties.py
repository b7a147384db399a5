import pytest

from ledger.core.accounts import AccountKey, ProgrammePolicy
from ledger.core.rejections import Rejection
from ledger.core.varieties import RULES, Route, route
from schemas.ledger import Booking, TransactionType, Variety

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
}


def test_every_variety_has_a_rule() -> None:
    assert set(RULES) == set(Variety)


@pytest.mark.parametrize("variety", list(Variety))
@pytest.mark.parametrize("transaction_type", list(TransactionType))
def test_permitted_types_follow_myrewards(
    variety: Variety, transaction_type: TransactionType
) -> None:
    counterparty = "bob" if variety is Variety.PERSON_TO_PERSON_TRANSFER else None
    booking = Booking(
        idempotency_key="k",
        transaction_type=transaction_type,
        variety=variety,
        points=1,
        reason="r",
        counterparty_user_id=counterparty,
    )
    routed = route("prog", "alice", booking, ProgrammePolicy(funded=False))
    permitted = transaction_type in PERMITTED[variety]
    assert isinstance(routed, Route) == permitted
    if isinstance(routed, Route):
        user = AccountKey.user("prog", "alice")
        is_credit = transaction_type is TransactionType.CREDIT
        assert (routed.credit if is_credit else routed.debit) == user
    else:
        assert isinstance(routed, Rejection)

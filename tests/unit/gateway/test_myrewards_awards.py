"""A pending award in MyRewards' transaction list: the seed's fields only, where it stands said
at the end of its description."""

from datetime import UTC, date, datetime
from typing import Literal

from gateway.myrewards.models import MyRewardsTransaction
from ledger.reads import PendingAwardState, Transaction

AT = datetime(2026, 3, 1, 12, tzinfo=UTC)
SEED_FIELDS = {"id", "user_id", "description", "value", "balance", "transaction_type",
               "remote_transaction_id", "created_at"}  # fmt: skip


def award(
    status: Literal["pending", "available", "cancelled"],
    available_on: date | None,
    cancelled: int = 0,
) -> Transaction:
    state = PendingAwardState(
        status,
        40, 0, 40 - cancelled, cancelled, available_on, None, "o-1", "order.completed",
    )  # fmt: skip
    return Transaction(
        9, "7", "purchase earned", 40, 10, "Credit", "Programme Points", None, "evt", "k", AT, state
    )


def test_an_awards_standing_ends_its_description_in_the_seeds_shape() -> None:
    pending = MyRewardsTransaction.of(7, award("pending", date(2026, 3, 15), cancelled=5))
    assert (
        pending.description == "purchase earned (pending until 2026-03-15, 5 cancelled by a return)"
    )
    assert set(pending.model_dump()) == SEED_FIELDS
    assert (pending.value, pending.balance) == (40, 10)
    waiting = MyRewardsTransaction.of(7, award("pending", None))
    assert waiting.description == "purchase earned (pending until a confirmation)"
    available = MyRewardsTransaction.of(7, award("available", date(2026, 3, 4)))
    assert available.description == "purchase earned (available since 2026-03-04)"
    cancelled = MyRewardsTransaction.of(7, award("cancelled", None, cancelled=40))
    assert cancelled.description == "purchase earned (cancelled by a return)"

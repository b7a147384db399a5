"""A booking's optional expiry (`Booking.expires_on`, imported balances): a credit's only, and
part of its payload digest only when given, so every booking without one hashes as before."""

from datetime import date

import pytest
from pydantic import ValidationError

from ledger import reads
from schemas.ledger import Booking, TransactionType, Variety


def credit(**changes: object) -> Booking:
    fields: dict[str, object] = {
        "idempotency_key": "bal:p:1",
        "transaction_type": TransactionType.CREDIT,
        "variety": Variety.ADJUSTMENT,
        "points": 10,
        "reason": "Imported balance",
    }
    return Booking.model_validate(fields | changes)


def test_a_debit_has_no_expiry() -> None:
    with pytest.raises(ValidationError, match="a debit has no expiry"):
        credit(transaction_type=TransactionType.DEBIT, expires_on=date(2030, 1, 1))


def test_the_expiry_is_in_the_digest_only_when_given() -> None:
    plain = reads.booking_digest("p", "u", credit())
    assert reads.booking_digest("p", "u", credit(expires_on=None)) == plain
    dated = reads.booking_digest("p", "u", credit(expires_on=date(2030, 1, 1)))
    assert dated != plain
    assert dated != reads.booking_digest("p", "u", credit(expires_on=date(2030, 1, 2)))

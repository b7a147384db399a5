import orjson

from ledger.core.hashing import booking_sha256, digests
from schemas.ledger import LedgerCommand
from tests.unit.ledger.fixtures import booking


def test_two_encodings_of_one_command_hash_alike() -> None:
    award = {"idempotency_key": "k", "transaction_type": "Credit", "variety": "Adjustment"}
    wire = {
        "command_id": "c",
        "programme_id": "p",
        "user_id": "u",
        "bookings": [{**award, "points": 5, "reason": "r"}],
        "explanation": {"a": 1, "b": [2]},
    }
    reordered = {
        "user_id": " u ",
        "bookings": [{"reason": "r", "points": 5, **award, "lineage": {}}],
        "explanation": {"b": [2], "a": 1},
        "programme_id": "p",
        "command_id": "c",
        "schema_version": 1,
    }
    first = LedgerCommand.model_validate_json(orjson.dumps(wire))
    second = LedgerCommand.model_validate_json(orjson.dumps(reordered))
    assert digests(first) == digests(second)


def test_a_command_hash_depends_on_every_booking() -> None:
    base = {"command_id": "c", "programme_id": "p", "user_id": "u"}
    one = LedgerCommand.model_validate({**base, "bookings": [booking("k", 5)]})
    other = LedgerCommand.model_validate({**base, "bookings": [booking("k", 6)]})
    none = LedgerCommand.model_validate(base)
    assert len({digests(one)[0], digests(other)[0], digests(none)[0]}) == 3


def test_a_booking_hash_depends_on_its_owner_and_payload() -> None:
    award = booking("k", 5)
    assert booking_sha256("p", "alice", award) != booking_sha256("p", "bob", award)
    assert booking_sha256("p", "alice", award) != booking_sha256("p", "alice", booking("k", 6))


def test_the_explanation_is_not_part_of_the_payload_compared() -> None:
    base = {"command_id": "c", "programme_id": "p", "user_id": "u", "bookings": [booking("k", 5)]}
    first = LedgerCommand.model_validate({**base, "explanation": {"rules": ["first wording"]}})
    again = LedgerCommand.model_validate({**base, "explanation": {"duplicate_of": "c"}})
    assert digests(first) == digests(again)


def test_a_booking_naming_its_user_hashes_as_that_users_booking() -> None:
    """A booking without `user_id` hashes as it did before bookings could name their user (a
    redelivered old command is a duplicate, not a conflict); one naming its user hashes as the
    same booking in that user's own command."""
    base = {"command_id": "c", "programme_id": "p", "user_id": "alice"}
    plain = LedgerCommand.model_validate({**base, "bookings": [booking("k", 5)]})
    named = LedgerCommand.model_validate({**base, "bookings": [booking("k", 5, user="alice")]})
    for_bob = LedgerCommand.model_validate({**base, "bookings": [booking("k", 5, user="bob")]})
    alices = booking_sha256("p", "alice", booking("k", 5))
    assert digests(plain)[1] == digests(named)[1] == (alices,)
    assert digests(for_bob)[1] == (booking_sha256("p", "bob", booking("k", 5)),)
    assert digests(for_bob)[0] != digests(plain)[0]

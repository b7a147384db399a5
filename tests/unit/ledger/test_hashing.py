import orjson

from ledger.core.hashing import booking_sha256, command_sha256
from schemas.ledger import LedgerCommand
from tests.unit.ledger.fixtures import booking


def test_two_encodings_of_one_command_hash_alike() -> None:
    wire = {"command_id": "c", "programme_id": "p", "user_id": "u", "bookings": []}
    reordered = {
        "user_id": "u",
        "bookings": [],
        "programme_id": "p",
        "command_id": "c",
        "schema_version": 1,
    }
    first = LedgerCommand.model_validate_json(orjson.dumps(wire))
    second = LedgerCommand.model_validate_json(orjson.dumps(reordered))
    assert command_sha256(first) == command_sha256(second)


def test_a_booking_hash_depends_on_its_owner_and_payload() -> None:
    award = booking("k", 5)
    assert booking_sha256("p", "alice", award) != booking_sha256("p", "bob", award)
    assert booking_sha256("p", "alice", award) != booking_sha256("p", "alice", booking("k", 6))

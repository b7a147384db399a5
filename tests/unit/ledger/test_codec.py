"""The ledger's decoder reads both wire forms of a command as one command (decision 0024).

Processors before decision 0024 sent every field, nulls and defaults included; since then they
leave out what is at its default. During a rolling upgrade both forms of one command can reach
the writer (a redelivery decided by an old worker, then by a new one): it must see the same
command, with the same payload hash, or it would refuse the second as an idempotency conflict.
"""

import orjson

from bench import engine as bench
from ledger.codec import RawRecord, decode
from ledger.core.batch import IncomingCommand
from processors.engine import UserState, compile_programme, decide, ledger_command_json
from schemas.ledger import LedgerCommand

EVENT = {
    "event_id": "evt_1",
    "programme_id": "p",
    "user_id": "u",
    "event_type": "purchase",
    "occurred_at": "2026-11-05T10:00:00Z",
    "metadata": {"amount": 12.5},
}
LINEAGE = {
    "source_event_id": "evt_1",
    "rule_id": "r",
    "rule_version": 2,
    "occurred_at": "2026-11-05T10:00:00Z",
}
BOOKING = {
    "idempotency_key": "evt_1:r",
    "transaction_type": "Credit",
    "variety": "Programme Points",
    "points": 40,
    "reason": "purchase earned with rule r v2",
    "remote_transaction_id": None,
    "counterparty_user_id": None,
    "reverses": None,
    "lineage": LINEAGE,
    "user_id": None,
    "expires_on": None,
    "pending": {"release_on": None, "confirmed_by": "delivered", "reference_id": "order-1"},
    "allow_negative": False,
}
LONG = {
    "schema_version": 1,
    "command_id": "evt_1",
    "programme_id": "p",
    "user_id": "u",
    "source_event_id": "evt_1",
    "bookings": [BOOKING],
    "explanation": {"status": "awarded", "reason_code": None, "rules": []},
    "source_fingerprint": None,
    "source_event": EVENT,
    "external_points": None,
    "confirms": {
        "event_type": "purchase",
        "reference_id": "order-0",
        "confirmed_at": "2026-11-05T10:00:00Z",
    },
    "returning": None,
}
RETURN = LONG | {
    "bookings": [],
    "confirms": None,
    "returning": {
        "original_event_id": "evt_0",
        "award_keys": ["evt_0:r"],
        "field": "amount",
        "amount": "12.50",
    },
}


def _decoded(value: bytes) -> IncomingCommand:
    decoded = decode(RawRecord("ledger-commands.v1", 0, 7, b"p:u", value))
    assert isinstance(decoded, IncomingCommand), decoded
    return decoded


def _short(value: bytes) -> bytes:
    """The form processors send since decision 0024."""
    return LedgerCommand.model_validate_json(value).model_dump_json(exclude_defaults=True).encode()


def _same_command(long: bytes, short: bytes) -> None:
    assert len(short) < len(long)
    old, new = _decoded(long), _decoded(short)
    assert new.command == old.command
    assert (new.payload_sha256, new.booking_sha256s) == (old.payload_sha256, old.booking_sha256s)
    assert (new.outcome_columns, new.entry_columns) == (old.outcome_columns, old.entry_columns)
    assert new.archive == old.archive


def test_a_pending_award_with_a_confirmation_is_one_command_in_both_forms() -> None:
    long = orjson.dumps(LONG)
    short = _short(long)
    assert b"null" not in short.replace(b'"reason_code":null', b"")  # the explanation's own
    assert b"allow_negative" not in short
    _same_command(long, short)


def test_a_return_is_one_command_in_both_forms() -> None:
    long = orjson.dumps(RETURN)
    short = _short(long)
    assert b'"bookings"' not in short
    _same_command(long, short)


def test_the_processors_commands_hash_as_the_earlier_processors_commands_did() -> None:
    """Over the benchmark's workload (every kind of rule, caps, streaks, redemptions, refusals):
    the long form is what the processors sent before (the model's full JSON, the event as
    received)."""
    compiled = compile_programme(bench.programme())
    states: dict[str, UserState] = {}
    for batch in bench.events(400, seed=13):
        for item in batch:
            decision = decide(item, states.get(item.user_id, UserState.initial()), compiled)
            states[item.user_id] = decision.state
            received = item.model_dump_json().encode()
            short = ledger_command_json(item, decision, received)
            full = orjson.loads(LedgerCommand.model_validate_json(short).model_dump_json())
            long = orjson.dumps(full | {"source_event": orjson.Fragment(received)})
            _same_command(long, short)

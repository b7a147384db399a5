"""`payload_fingerprint`: what counts as the same payload under one idempotency key."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from schemas.events import EventV1, payload_fingerprint

AT = datetime(2026, 12, 4, 10, tzinfo=UTC)


def event(**fields: Any) -> EventV1:
    base: dict[str, Any] = {
        "event_id": "evt_1",
        "programme_id": "demo",
        "partner_id": "p",
        "user_id": "u",
        "event_type": "purchase",
        "occurred_at": AT,
        "reference_id": "order_1",
        "metadata": {"reference_id": "order_1", "amount": 150, "currency": "GHS"},
    }
    return EventV1.model_validate(base | fields)


def test_the_same_payload_has_the_same_fingerprint_whatever_the_key_order_and_offset() -> None:
    plain = payload_fingerprint(event(), occurred_at_given=True)
    reordered = event(metadata={"currency": "GHS", "amount": 150, "reference_id": "order_1"})
    assert payload_fingerprint(reordered, occurred_at_given=True) == plain
    elsewhere = event(occurred_at=AT.astimezone(timezone(timedelta(hours=2))))
    assert payload_fingerprint(elsewhere, occurred_at_given=True) == plain
    assert len(plain) == 32


def test_a_stamped_time_is_not_part_of_the_payload_a_given_one_is() -> None:
    later = event(occurred_at=AT + timedelta(seconds=3))
    assert payload_fingerprint(later, occurred_at_given=False) == payload_fingerprint(
        event(), occurred_at_given=False
    )
    assert payload_fingerprint(later, occurred_at_given=True) != payload_fingerprint(
        event(), occurred_at_given=True
    )


def test_any_other_difference_is_another_payload() -> None:
    plain = payload_fingerprint(event(), occurred_at_given=False)
    for changed in (
        event(user_id="v"),
        event(event_type="refund"),
        event(partner_id="q"),
        event(metadata={"reference_id": "order_1", "amount": 99, "currency": "GHS"}),
        event(metadata={"reference_id": "order_1", "amount": 150.0, "currency": "GHS"}),
    ):
        assert payload_fingerprint(changed, occurred_at_given=False) != plain

"""One list of webhook types (gateway.webhooks.subscriptions): what the CLI, the admin API and
the console offer and accept, the outcomes' by default, the lifecycle's only when named."""

from typing import get_args

import pytest

from gateway.admin.service import webhooks
from gateway.admin.service.errors import Invalid
from gateway.webhooks import subscriptions

LIFECYCLE = ("points.expiring", "points.expired", "points.available", "points.returned")


def test_the_known_types_are_the_defaults_and_the_lifecycles() -> None:
    assert get_args(subscriptions.EventType) == subscriptions.KNOWN_EVENT_TYPES
    assert subscriptions.LIFECYCLE_EVENT_TYPES == LIFECYCLE
    assert set(subscriptions.EVENT_TYPES) | set(LIFECYCLE) == set(subscriptions.KNOWN_EVENT_TYPES)
    assert webhooks.EVENT_TYPES == subscriptions.KNOWN_EVENT_TYPES
    assert webhooks.DEFAULT_EVENT_TYPES == subscriptions.EVENT_TYPES


@pytest.mark.parametrize("name", subscriptions.KNOWN_EVENT_TYPES)
def test_the_admin_side_accepts_every_type(name: str) -> None:
    made = webhooks.parse({"subscription_id": "h", "url": "https://p.example/h",
                           "event_types": [name]})  # fmt: skip
    assert made.event_types == (name,)


def test_the_admin_side_defaults_to_the_outcomes_and_refuses_an_unknown_type() -> None:
    made = webhooks.parse({"subscription_id": "h", "url": "https://p.example/h"})
    assert made.event_types == subscriptions.EVENT_TYPES
    with pytest.raises(Invalid):
        webhooks.parse({"subscription_id": "h", "url": "https://p.example/h",
                        "event_types": ["points.vanished"]})  # fmt: skip

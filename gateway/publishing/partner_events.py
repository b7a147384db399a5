"""A partner publishing an event, through any API that speaks for partners (mgPass's partner
events, Kwegg's occurrences): its programme and environment, its allowed event types (403) and
its rate limit (429), then the shared publish-and-answer path."""

from collections.abc import Callable

from gateway.dependencies import Services
from gateway.errors import Forbidden, Unauthorized, Unavailable
from gateway.keys import Principal
from gateway.metrics import EVENTS_PUBLISHED
from gateway.publishing.answering import publish_and_answer
from gateway.publishing.answers import EventAnswer
from schemas.events import EventV1
from schemas.programme import Partner


async def publish_partner_event(
    services: Services,
    caller: Principal,
    partner: Partner,
    event_type: str,
    event_of: Callable[[], EventV1],
    *,
    occurred_at_given: bool = False,
) -> tuple[EventAnswer, int]:
    """Publishes the partner's event, built by `event_of` once the partner may publish it
    (its allowed event types, 403, and its rate limit, 429): the answer, and its HTTP status,
    202 while the outcome is pending, else 200. `occurred_at_given`: the partner dated it."""
    require_allowed(partner, event_type)
    await services.rate_limits.check(
        caller.programme_id, caller.partner_id, partner.rate_limit_per_minute
    )
    event = event_of()
    answer = await publish_and_answer(services, event, occurred_at_given=occurred_at_given)
    EVENTS_PUBLISHED.labels(event.programme_id).inc()
    return answer, 202 if answer.status == "pending" else 200


def programme_partner(services: Services, caller: Principal, *, not_a_partner: str) -> Partner:
    """The caller's partner in its programme, once the programme's configuration is loaded and
    of the key's environment; `not_a_partner` is the refusal when the programme has no such
    partner."""
    config = services.catalog.config(caller.programme_id)
    if config is None:
        raise Unavailable("the programme's configuration is not loaded yet; retry shortly")
    if config.environment != caller.environment:
        raise Unauthorized(
            f"a {caller.environment} key cannot reach a {config.environment} programme"
        )
    partner = config.partner(caller.partner_id)
    if partner is None:
        raise Forbidden(not_a_partner)
    return partner


def require_allowed(partner: Partner, event_type: str) -> None:
    if not partner.allows(event_type):
        raise Forbidden(f"event type {event_type!r} is not in your allowed list")

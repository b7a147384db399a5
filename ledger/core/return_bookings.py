"""A return's Return entries and the explanation its outcome carries (`ledger.core.returns`)."""

from pydantic import JsonValue

from ledger.core.returns import ReturnPlan, Take
from schemas.ledger import Booking, LedgerCommand, Lineage, TransactionType, Variety


def return_booking(command: LedgerCommand, take: Take, allow_negative: bool) -> Booking:
    """A Debit of variety Return, user to budget, reversing the award it takes back: keyed
    by the return's event and the award's rule, as the award is by its event and rule."""
    award = take.award
    request = command.returning
    original = "" if request is None else request.original_event_id
    rule = award.rule_id or award.key
    event = command.source_event
    return Booking.model_construct(
        idempotency_key=f"{command.command_id}:{rule}"[:256],
        transaction_type=TransactionType.DEBIT,
        variety=Variety.RETURN,
        points=take.points,
        reason=f"return of event {original} (rule {rule})"[:250],
        remote_transaction_id=None,
        counterparty_user_id=None,
        reverses=award.key,
        lineage=Lineage.model_construct(
            source_event_id=command.source_event_id,
            rule_id=award.rule_id,
            rule_version=None,
            occurred_at=None if event is None else event.occurred_at,
        ),
        user_id=None,
        expires_on=None,
        allow_negative=allow_negative,
    )


def return_cancellation(command: LedgerCommand, take: Take) -> tuple[str, Variety, str, Lineage]:
    """The idempotency key, variety, reason and lineage of the entry that cancels a take's
    pending part (`releasing.cancel_entry`): keyed apart from its Return entry, which takes the
    rest of the same award from the user's balance."""
    award = take.award
    request = command.returning
    original = "" if request is None else request.original_event_id
    rule = award.rule_id or award.key
    event = command.source_event
    return (
        f"{command.command_id}:{rule}:pending"[:256],
        Variety.RETURN,
        f"return of event {original}: pending points cancelled (rule {rule})"[:250],
        Lineage.model_construct(
            source_event_id=command.source_event_id,
            rule_id=award.rule_id,
            rule_version=None,
            occurred_at=None if event is None else event.occurred_at,
        ),
    )


def return_explanation(
    command: LedgerCommand, plan: ReturnPlan, net_points: int, cancelled: int = 0
) -> JsonValue:
    """The command's explanation with what the return did: its points, shortfall, reason, and
    the pending points it cancelled (never the user's balance)."""
    request = command.returning
    given = command.explanation
    explanation: dict[str, JsonValue] = dict(given) if isinstance(given, dict) else {}
    explanation.update(
        status="returned" if net_points or cancelled else "no_points",
        reason=plan.reason,
        reason_code=None if plan.reason_code is None else plan.reason_code.value,
        points=net_points,
        returned={
            "original_event_id": None if request is None else request.original_event_id,
            "amount": None if request is None else str(request.amount),
            "points": -net_points,
            "pending_cancelled": cancelled,
            "shortfall": plan.shortfall,
            "counted": plan.counts,
        },
    )
    return explanation

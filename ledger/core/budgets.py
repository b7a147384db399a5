"""Rule budgets ("cap max"): the points a rule may award over all users, held exactly by the ledger.

The processors keep each rule's usage per worker (processors/budgets.py), exact only when one
worker owns every partition. The ledger is the one place every award passes through, in a
transaction: a batch that books an award of a budgeted rule locks that rule's usage row
(`ledger.rule_budget_usage`), and the planner refuses an award that would take the usage past
the budget (`rule_budget_exhausted`, the whole command, like every refusal). A reversal of a
counted award gives its points back (never below zero: an award booked before its rule had a
budget was never counted).

An award is a Credit of variety Programme Points that names its rule (`lineage.rule_id`) and
reverses nothing: what the processors book for an earn rule. Redemptions through a redeem rule,
adjustments and corrections are not awards and use no rule's budget.
"""

from collections.abc import Iterable, Mapping

from ledger.core.accounts import ProgrammePolicy
from ledger.core.batch import IncomingCommand, RuleKey, StoredEntry
from ledger.core.rejections import Rejection
from schemas.ledger import Booking, RejectionReason, TransactionType, Variety


def award_rule_id(booking: Booking) -> str | None:
    """The rule `booking` awards points for, or None if it is not an award."""
    if (
        booking.variety is Variety.PROGRAMME_POINTS
        and booking.transaction_type is TransactionType.CREDIT
        and booking.reverses is None
    ):
        return booking.lineage.rule_id
    return None


def needed_rule_usage(
    commands: Iterable[IncomingCommand],
    programmes: Mapping[str, ProgrammePolicy],
    entries: Mapping[str, StoredEntry],
) -> set[RuleKey]:
    """The budgeted rules whose usage the batch may change: those its awards name, and those of
    the awards its reversals name (`entries`: the stored ones the batch may reverse; an award
    earlier in the batch is found among the batch's own bookings). Nothing for programmes
    without rule budgets, which is almost every batch."""
    keys: set[RuleKey] = set()
    batch_awards: dict[str, str] = {}
    for incoming in commands:
        command = incoming.command
        policy = programmes.get(command.programme_id)
        if policy is None or not policy.rule_budgets:
            continue
        budgets = policy.rule_budgets
        for booking in command.bookings:
            rule_id = award_rule_id(booking)
            if rule_id is not None:
                batch_awards[booking.idempotency_key] = rule_id
            elif booking.reverses is not None:
                target = entries.get(booking.reverses)
                if target is None:
                    rule_id = batch_awards.get(booking.reverses)
                else:
                    rule_id = target.award_rule_id
            if rule_id is not None and rule_id in budgets:
                keys.add((command.programme_id, rule_id))
        returning = command.returning
        for key in () if returning is None else returning.award_keys:
            target = entries.get(key)
            rule_id = None if target is None else target.award_rule_id
            if rule_id is not None and rule_id in budgets:
                keys.add((command.programme_id, rule_id))
    return keys


def exhausted(rule_id: str, budget_max: int, used: int) -> Rejection:
    left = max(0, budget_max - used)
    return Rejection(
        RejectionReason.RULE_BUDGET_EXHAUSTED,
        f"Rule {rule_id} has {left} of its {budget_max} budget points left",
    )

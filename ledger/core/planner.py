"""Plan a batch: decide every command's outcome and the entries and balances it writes.

Commands are applied in order to working copies of the snapshot's balances, entries and
reversals. A command is all-or-nothing: its changes are recorded in an undo log, rolled back if
one of its bookings is refused. (Most commands carry one booking, refused before it changes
anything, so the log costs nothing where a scratch copy per command would cost a few dicts.)

A booking may name its own user (`Booking.user_id`, a command that books for several users at
once): it is routed to that user's account, which is locked and floor-checked like any other,
and its refusal rolls back the whole command. The outcome's points and balance stay the
command's user's.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from pydantic import JsonValue

from ledger.core.accounts import (
    AccountKey,
    AccountKind,
    ProgrammePolicy,
    booking_user,
    floor_rejection,
    may_go_negative,
)
from ledger.core.batch import (
    BatchPlan,
    IncomingCommand,
    LedgerSnapshot,
    OriginalKey,
    Outcome,
    PlannedEntry,
    PlannedOutcome,
    PlannedReturn,
    RuleKey,
    StoredEntry,
    StoredOutcome,
)
from ledger.core.budgets import award_rule_id, exhausted
from ledger.core.columns import Row, booking_entry_columns
from ledger.core.exceptions import LedgerInvariantError
from ledger.core.expiry import LotDates
from ledger.core.hashing import booking_sha256
from ledger.core.lots import Lots, credited, debited, debited_preferring
from ledger.core.pending import Pending, PendingLot, confirmed, held
from ledger.core.rejections import Rejection
from ledger.core.releasing import cancel_entry, release_entry
from ledger.core.return_bookings import return_booking, return_cancellation, return_explanation
from ledger.core.returns import Original, OriginalAward, Take, plan_return
from ledger.core.varieties import Route, route
from schemas.ledger import Booking, LedgerCommand, OutcomeStatus, RejectionReason

_UNKNOWN_PROGRAMME = Rejection(RejectionReason.UNKNOWN_PROGRAMME, "Programme not found")
_ABSENT: Any = object()
_USER = AccountKind.USER
_PENDING = AccountKind.PENDING


def needed_accounts(
    commands: Iterable[IncomingCommand], programmes: dict[str, ProgrammePolicy]
) -> set[AccountKey]:
    """Every account the batch may touch: each command's user and its bookings' counterparts."""
    keys: set[AccountKey] = set()
    for incoming in commands:
        command = incoming.command
        policy = programmes.get(command.programme_id)
        if policy is None:
            continue
        keys.update(incoming.accounts)
        if None not in incoming.routes:
            continue
        for routed, booking in zip(incoming.routes, command.bookings, strict=True):
            if routed is None:
                owner = booking_user(command.user_id, booking)
                routed = route(command.programme_id, owner, booking, policy)
            if isinstance(routed, Route):
                keys.update(routed)
    return keys


def plan_batch(
    commands: Iterable[IncomingCommand], snapshot: LedgerSnapshot, recorded_at: datetime
) -> BatchPlan:
    planner = _Planner(snapshot, recorded_at)
    for incoming in commands:
        planner.add(incoming)
    balances = planner.changed_balances()
    pending_stored = bool(planner.pending) or bool(snapshot.pending)
    if pending_stored:
        # An account whose pending lots changed is written even where its balance did not (a
        # pending award changes the user's lots, not the user's balance).
        for key in planner.changed_pending():
            balances.setdefault(key, planner.balances[key])
    return BatchPlan(
        planner.outcomes,
        planner.planned,
        balances,
        planner.changed_usage(),
        planner.final_lots(balances),
        planner.final_pending(balances) if pending_stored else {},
        pending_stored,
        planner.returns,
    )


class _Planner:
    def __init__(self, snapshot: LedgerSnapshot, recorded_at: datetime) -> None:
        self.snapshot = snapshot
        self.recorded_at = recorded_at
        self.balances: dict[AccountKey, int] = dict(snapshot.balances)
        self.entries: dict[str, StoredEntry] = dict(snapshot.entries)
        self.outcomes_by_id: dict[str, StoredOutcome] = dict(snapshot.outcomes)
        self.usage: dict[RuleKey, int] = dict(snapshot.rule_usage)
        self.lots: dict[AccountKey, Lots | None] = dict(snapshot.lots)
        self.pending: dict[AccountKey, Pending | None] = dict(snapshot.pending)
        self.originals: dict[OriginalKey, Original] = dict(snapshot.originals)
        self.returns: list[PlannedReturn] = []
        self.planned: list[PlannedEntry] = []
        self.outcomes: list[PlannedOutcome] = []
        self.undo: list[tuple[dict[Any, Any], object, object]] = []
        # A command's last booking changes nothing unless it passes every check, so only the
        # bookings before it can need undoing: a one-booking command logs nothing.
        self.undoable = False
        self.lot_dates = LotDates()

    def changed_balances(self) -> dict[AccountKey, int]:
        return _changed(self.balances, self.snapshot.balances)

    def changed_usage(self) -> dict[RuleKey, int]:
        return _changed(self.usage, self.snapshot.rule_usage)

    def final_lots(self, balances: Mapping[AccountKey, int]) -> dict[AccountKey, Lots]:
        """The lots of the accounts whose balance changed, where they store any (an account's
        lots change only with its balance)."""
        lots = self.lots
        if not lots:
            return {}
        final: dict[AccountKey, Lots] = {}
        for key in balances:
            held = lots.get(key)
            if held is not None:
                final[key] = held
        return final

    def changed_pending(self) -> list[AccountKey]:
        before = self.snapshot.pending
        return [key for key, held in self.pending.items() if held != before.get(key)]

    def final_pending(self, balances: Mapping[AccountKey, int]) -> dict[AccountKey, Pending]:
        final: dict[AccountKey, Pending] = {}
        for key in balances:
            held = self.pending.get(key)
            if held is not None:
                final[key] = held
        return final

    def add(self, incoming: IncomingCommand) -> None:
        command_id = incoming.command.command_id
        previous = self.outcomes_by_id.get(command_id)
        if previous is not None:
            self.outcomes.append(PlannedOutcome(incoming, _repeat(incoming, previous), False))
            return
        outcome = self._apply(incoming)
        self.outcomes_by_id[command_id] = StoredOutcome(incoming.payload_sha256, outcome)
        self.outcomes.append(PlannedOutcome(incoming, outcome, True))

    def _apply(self, incoming: IncomingCommand) -> Outcome:
        command = incoming.command
        policy = self.snapshot.programmes.get(command.programme_id)
        if policy is None:
            return self._outcome(command, OutcomeStatus.REJECTED, 0, None, _UNKNOWN_PROGRAMME)
        if command.returning is not None:
            return self._apply_return(incoming, policy)
        user = incoming.user_account
        before = self._balance(user)
        planned_before = len(self.planned)
        net_points = 0
        bookings = command.bookings
        last = len(bookings) - 1
        for index, booking in enumerate(bookings):
            self.undoable = index < last
            routed = incoming.routes[index]
            if routed is None:
                owner = booking_user(command.user_id, booking)
                routed = route(command.programme_id, owner, booking, policy)
            digest = incoming.booking_sha256s[index]
            columns = incoming.entry_columns[index]
            booked = self._book(command, user, policy, booking, digest, columns, routed)
            if isinstance(booked, Rejection):
                self._roll_back(planned_before)
                return self._outcome(command, OutcomeStatus.REJECTED, 0, before, booked)
            net_points += booked
        self.undo.clear()
        repeated = bool(bookings) and len(self.planned) == planned_before
        if command.confirms is not None:
            self._release_confirmed(command, user, policy)
        status = OutcomeStatus.DUPLICATE if repeated else OutcomeStatus.BOOKED
        return self._outcome(command, status, net_points, self.balances[user], None)

    def _apply_return(self, incoming: IncomingCommand, policy: ProgrammePolicy) -> Outcome:
        """A return's command: the share of its original's awards, cancelled from their
        pending lots first and the rest booked as Return entries that reverse them, all or
        nothing (`ledger.core.returns`)."""
        command = incoming.command
        request = command.returning
        if request is None:
            raise LedgerInvariantError(f"{command.command_id} is not a return")
        key = (command.programme_id, command.user_id, request.original_event_id)
        loaded = self.originals.get(key)
        if loaded is None:
            raise LedgerInvariantError(f"the original {key} was not loaded for the batch")
        user = incoming.user_account
        pending = self.pending.get(user)
        original = loaded._replace(awards=tuple(self._available(a, pending) for a in loaded.awards))
        before = self._balance(user)
        negative = policy.spent_points == "negative_balance"
        plan = plan_return(
            original, request.amount, before, "negative_balance" if negative else "shortfall"
        )
        planned_before = len(self.planned)
        net_points = 0
        cancelled = 0
        for take in plan.takes:
            self.undoable = True
            booked = 0 if take.pending == 0 else self._cancel_pending(command, user, policy, take)
            if not isinstance(booked, Rejection) and take.points > 0:
                booked = self._take_back(command, user, policy, take, negative)
            if isinstance(booked, Rejection):
                self._roll_back(planned_before)
                return self._outcome(command, OutcomeStatus.REJECTED, 0, before, booked)
            net_points += booked
            cancelled += take.pending
        self.undo.clear()
        if plan.counts:
            returned = original.returned_before + request.amount
            self.originals[key] = loaded._replace(returned_before=returned)
            self.returns.append(
                PlannedReturn(
                    command.command_id, command.programme_id, command.user_id,
                    request.original_event_id, request.amount, cancelled - net_points,
                    plan.shortfall,
                )
            )  # fmt: skip
        explanation = return_explanation(command, plan, net_points, cancelled)
        return self._outcome(
            command, OutcomeStatus.BOOKED, net_points, self.balances[user], None, explanation
        )

    def _take_back(
        self,
        command: LedgerCommand,
        user: AccountKey,
        policy: ProgrammePolicy,
        take: Take,
        negative: bool,
    ) -> Rejection | int:
        """A take's available part: a Return entry from the user to the budget."""
        booking = return_booking(command, take, negative)
        owner = command.user_id
        digest = booking_sha256(command.programme_id, owner, booking)
        columns = booking_entry_columns(
            command.command_id, command.programme_id, owner, digest, booking
        )
        routed = Route(user, AccountKey(command.programme_id, AccountKind.BUDGET, ""))
        return self._book(command, user, policy, booking, digest, columns, routed, take.award.lots)

    def _cancel_pending(
        self, command: LedgerCommand, user: AccountKey, policy: ProgrammePolicy, take: Take
    ) -> Rejection | int:
        """A take's pending part: the award's pending lot shrinks (what is cancelled is never
        released) and its points go back from the pending account to the budget."""
        programme_id = command.programme_id
        pending_account = AccountKey(programme_id, _PENDING, "")
        budget = AccountKey(programme_id, AccountKind.BUDGET, "")
        idempotency_key, variety, reason, lineage = return_cancellation(command, take)
        done = cancel_entry(
            command.command_id,
            idempotency_key,
            self.pending.get(user),
            take.award.key,
            take.pending,
            user,
            pending_account,
            self._balance(pending_account),
            budget,
            self._balance(budget),
            variety,
            reason,
            lineage,
        )
        entry = done.entry
        if entry is None or done.cancellation.points != take.pending:
            raise LedgerInvariantError(
                f"{user}: {take.pending} pending points of {take.award.key} to cancel, "
                f"{done.cancellation.points} pending"
            )
        booked = self._book(
            command,
            user,
            policy,
            entry.booking,
            entry.payload_sha256,
            entry.columns,
            Route(pending_account, budget),
            pending_of=take.award.key,
        )
        if not isinstance(booked, Rejection):
            self._set(self.pending, user, done.cancellation.left)
        return booked

    def _available(self, award: OriginalAward, pending: Pending | None) -> OriginalAward:
        """The award with what is left of it now (reversals earlier in the batch included)
        and what of that is still pending (its lot among the user's `pending`)."""
        entry = self.entries.get(award.key)
        if entry is None:
            return award._replace(available=0)
        held = next((lot.points for lot in pending or () if lot.award_key == award.key), 0)
        return award._replace(available=entry.points - entry.reversed_points, pending=held)

    def _book(
        self,
        command: LedgerCommand,
        user: AccountKey,
        policy: ProgrammePolicy,
        booking: Booking,
        digest: bytes,
        columns: Row,
        routed: Route | Rejection,
        preferred_lots: Lots | None = None,
        pending_of: str | None = None,
    ) -> Rejection | int:
        """The user's signed points from this booking, or why it is refused."""
        existing = self.entries.get(booking.idempotency_key)
        if existing is not None:
            if existing.payload_sha256 != digest:
                return Rejection(
                    RejectionReason.IDEMPOTENCY_CONFLICT,
                    f"booking {booking.idempotency_key!r} already used with a different payload",
                )
            return _signed(user, existing.debit, existing.credit, existing.points)
        if isinstance(routed, Rejection):
            return routed
        debit, credit = routed
        reverses = booking.reverses
        target = None if reverses is None else self._reversal_target(booking, routed)
        if isinstance(target, Rejection):
            return target
        points = booking.points
        balances = self.balances
        debit_before = self._balance(debit)
        debit_after = debit_before - points
        if debit_after < 0 and not (booking.allow_negative or may_go_negative(debit, policy)):
            return Rejection(*floor_rejection(debit.kind))
        credit_before = self._balance(credit)
        credit_after = credit_before + points
        award_rule = None
        budgets = policy.rule_budgets
        if budgets:  # almost never: most programmes have no rule budget
            award_rule = award_rule_id(booking)
            usage = self._usage_after(command.programme_id, budgets, booking, award_rule, target)
            if isinstance(usage, Rejection):
                return usage
            if usage is not None:
                self._set(self.usage, *usage)
        key = booking.idempotency_key
        stored = StoredEntry(digest, debit, credit, points, target is not None, 0, award_rule)
        if self.undoable:
            self._set(balances, debit, debit_after)
            self._set(balances, credit, credit_after)
            self._set(self.entries, key, stored)
        else:  # measured fast path (plan_batch ~3% faster than `_set`): last booking, no undo
            balances[debit] = debit_after
            balances[credit] = credit_after
            self.entries[key] = stored
        if target is not None and reverses is not None:
            reversed_points = target.reversed_points + points
            self._set(self.entries, reverses, target._replace(reversed_points=reversed_points))
        if credit.kind is _PENDING:
            return self._hold(command, user, booking, digest, columns, routed, debit_after)
        taken: Lots | None = None
        formed: Lots | None = None
        if debit.kind is _USER:
            taken = self._debit_lots(debit, debit_before, points, preferred_lots)
        if credit.kind is _USER:
            formed = self._credit_lots(booking, policy, credit, credit_before, debit, taken)
        self.planned.append(
            PlannedEntry(
                booking,
                digest,
                debit,
                credit,
                debit_after,
                credit_after,
                columns,
                taken,
                formed,
                pending_of,
            )
        )
        return _signed(user, debit, credit, points)

    def _hold(
        self,
        command: LedgerCommand,
        user: AccountKey,
        booking: Booking,
        digest: bytes,
        columns: Row,
        routed: Route,
        debit_after: int,
    ) -> int:
        """A pending award: its points sit in the pending account, its lot on the user's row."""
        terms = booking.pending
        if terms is None:
            raise LedgerInvariantError(f"{booking.idempotency_key}: pending without terms")
        owner = AccountKey(command.programme_id, _USER, booking_user(command.user_id, booking))
        release_on = terms.release_on
        lot = PendingLot(
            booking.idempotency_key,
            terms.reference_id,
            None if release_on is None else release_on.isoformat(),
            terms.confirmed_by,
            booking.points,
        )
        self._set(self.pending, owner, held(self.pending.get(owner), lot))
        debit, credit = routed
        self.planned.append(
            PlannedEntry(
                booking, digest, debit, credit, debit_after, self.balances[credit], columns
            )
        )
        return booking.points if owner == user else 0

    def _release_confirmed(
        self, command: LedgerCommand, user: AccountKey, policy: ProgrammePolicy
    ) -> None:
        """Make available the user's pending awards the command's event confirms."""
        confirms = command.confirms
        if confirms is None:
            return
        left, released = confirmed(
            self.pending.get(user), confirms.event_type, confirms.reference_id
        )
        if not released:
            return
        self.undoable = False  # after the command's last booking: nothing to undo
        pending_account = AccountKey(command.programme_id, _PENDING, "")
        balance = self._balance(user)
        lots = self.lots.get(user)
        pending_balance = self._balance(pending_account)
        why = f"confirmed by {confirms.event_type} {confirms.reference_id}"
        for lot in released:
            done = release_entry(
                command.command_id,
                lot,
                user,
                balance,
                lots,
                pending_account,
                pending_balance,
                policy.expiry,
                confirms.confirmed_at,
                why,
            )
            self.planned.append(done.entry)
            balance, lots, pending_balance = done.balance, done.lots, done.pending_balance
        self.balances[user] = balance
        self.balances[pending_account] = pending_balance
        if lots is not None or user in self.lots:
            self.lots[user] = lots
        self.pending[user] = left

    def _debit_lots(
        self, account: AccountKey, before: int, points: int, preferred: Lots | None
    ) -> Lots | None:
        """The lots a debit takes from a user's account, earliest-expiring first (a return's
        from its award's own lots first)."""
        held = self.lots.get(account)
        if held is None:  # only never-expiring points: nothing to record
            return None
        if preferred is None:
            after, taken = debited(held, before, points)
        else:
            after, taken = debited_preferring(held, before, points, preferred)
        self._set(self.lots, account, after)
        return taken

    def _credit_lots(
        self,
        booking: Booking,
        policy: ProgrammePolicy,
        account: AccountKey,
        before: int,
        debit: AccountKey,
        taken: Lots | None,
    ) -> Lots | None:
        """The lots a credit forms on a user's account: of the day the booking gives (an
        imported balance's expiry), else of the date the programme's policy gives the day it was
        earned, or, for a transfer, the dates of the lots it took."""
        incoming = taken
        expiry = policy.expiry
        if debit.kind is not _USER:
            if booking.expires_on is not None:
                incoming = ((booking.expires_on.isoformat(), booking.points),)
            elif expiry is not None:
                earned_at = booking.lineage.occurred_at or self.recorded_at
                incoming = ((self.lot_dates.expires_on(expiry, earned_at), booking.points),)
        held = self.lots.get(account)
        after, formed = credited(held, before, booking.points, incoming)
        if after is not held:
            self._set(self.lots, account, after)
        return formed

    def _usage_after(
        self,
        programme_id: str,
        budgets: Mapping[str, int],
        booking: Booking,
        award_rule: str | None,
        target: StoredEntry | None,
    ) -> tuple[RuleKey, int] | Rejection | None:
        """The rule budget the booking uses (an award) or gives back (a reversal of one), with
        its usage after the booking; a refusal if the award does not fit; None if neither."""
        if target is not None:
            rule_id = target.award_rule_id
            if rule_id is None or rule_id not in budgets:
                return None
            key = (programme_id, rule_id)
            return key, max(0, self._used(key) - booking.points)
        if award_rule is None:
            return None
        budget_max = budgets.get(award_rule)
        if budget_max is None:
            return None
        key = (programme_id, award_rule)
        used = self._used(key)
        if used + booking.points > budget_max:
            return exhausted(award_rule, budget_max, used)
        return key, used + booking.points

    def _used(self, key: RuleKey) -> int:
        used = self.usage.get(key)
        if used is None:
            raise LedgerInvariantError(f"rule budget {key} was not loaded for the batch")
        return used

    def _reversal_target(self, booking: Booking, routed: Route) -> StoredEntry | Rejection:
        target = None if booking.reverses is None else self.entries.get(booking.reverses)
        if target is None:
            return Rejection(
                RejectionReason.REVERSAL_TARGET_NOT_FOUND,
                f"no booking {booking.reverses!r} to reverse",
            )
        if target.is_reversal:
            return Rejection.invalid("Invalid Transaction: a reversal cannot be reversed")
        if (routed.debit, routed.credit) != (target.credit, target.debit) and not (
            _released_back(routed, target)
        ):
            return Rejection.invalid(
                "Invalid Transaction: a reversal must move points back between the same accounts"
            )
        total = target.reversed_points + booking.points
        if total > target.points:
            return Rejection(
                RejectionReason.REVERSAL_EXCEEDS_ORIGINAL,
                f"reversals would total {total} of {target.points} points",
            )
        return target

    def _balance(self, key: AccountKey) -> int:
        balance = self.balances.get(key)
        if balance is None:
            raise LedgerInvariantError(f"account {key} was not loaded for the batch")
        return balance

    def _set(self, mapping: dict[Any, Any], key: object, value: object) -> None:
        if self.undoable:
            self.undo.append((mapping, key, mapping.get(key, _ABSENT)))
        mapping[key] = value

    def _roll_back(self, planned_before: int) -> None:
        """Undo the command's changes, newest first."""
        for mapping, key, previous in reversed(self.undo):
            if previous is _ABSENT:
                del mapping[key]
            else:
                mapping[key] = previous
        self.undo.clear()
        del self.planned[planned_before:]

    def _outcome(
        self,
        command: LedgerCommand,
        status: OutcomeStatus,
        net_points: int,
        balance_after: int | None,
        rejection: Rejection | None,
        explanation: JsonValue = None,
    ) -> Outcome:
        return Outcome(
            command.command_id,
            status,
            net_points,
            None if rejection is None else rejection.message,
            balance_after,
            None if rejection is None else rejection.code,
            OutcomeStatus.BOOKED if status is OutcomeStatus.DUPLICATE else None,
            command.explanation if explanation is None else explanation,
            self.recorded_at,
        )


_Key = TypeVar("_Key")


def _changed(after: Mapping[_Key, int], before: Mapping[_Key, int]) -> dict[_Key, int]:
    """The values that differ from the snapshot's (every key of `after` is in `before`)."""
    return {key: value for key, value in after.items() if value != before[key]}


def _repeat(incoming: IncomingCommand, previous: StoredOutcome) -> Outcome:
    """A command id seen before: the original's result, or a conflict if the payload differs."""
    original = previous.outcome
    if previous.payload_sha256 != incoming.payload_sha256:
        return Outcome(
            command_id=original.command_id,
            status=OutcomeStatus.REJECTED,
            points=0,
            reason="command id already used with a different payload",
            reason_code=RejectionReason.IDEMPOTENCY_CONFLICT,
        )
    return original.repeated()


def _released_back(routed: Route, target: StoredEntry) -> bool:
    """A reversal of a pending award after its release: from the user it was released to back
    to the budget it came from (its pending part is cancelled from the pending account)."""
    return (
        target.credit.kind is _PENDING
        and routed.debit.kind is _USER
        and routed.credit == target.debit
    )


def _signed(user: AccountKey, debit: AccountKey, credit: AccountKey, points: int) -> int:
    if credit == user:
        return points
    if debit == user:
        return -points
    return 0

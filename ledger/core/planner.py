"""Plan a batch: decide every command's outcome and the entries, postings and balances it writes.

Commands are applied in order against a working copy of the snapshot's balances; a command's
bookings are tried on a scratch layer that is merged only if all of them pass (all-or-nothing).
"""

from collections.abc import Iterable
from datetime import datetime

from ledger.core.accounts import AccountKey, ProgrammePolicy, floor_rejection, may_go_negative
from ledger.core.batch import (
    BatchPlan,
    IncomingCommand,
    LedgerSnapshot,
    PlannedEntry,
    PlannedOutcome,
    StoredEntry,
    StoredOutcome,
)
from ledger.core.hashing import booking_sha256
from ledger.core.rejections import Rejection
from ledger.core.varieties import Route, route
from ledger.exceptions import LedgerInvariantError
from schemas.ledger import Booking, CommandOutcome, OutcomeStatus, RejectionReason


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
        keys.add(AccountKey.user(command.programme_id, command.user_id))
        for booking in command.bookings:
            routed = route(command.programme_id, command.user_id, booking, policy)
            if isinstance(routed, Route):
                keys.update((routed.debit, routed.credit))
    return keys


def plan_batch(
    commands: Iterable[IncomingCommand], snapshot: LedgerSnapshot, recorded_at: datetime
) -> BatchPlan:
    planner = _Planner(snapshot, recorded_at)
    for incoming in commands:
        planner.add(incoming)
    return BatchPlan(planner.outcomes, planner.planned, planner.changed_balances())


class _Planner:
    def __init__(self, snapshot: LedgerSnapshot, recorded_at: datetime) -> None:
        self.snapshot = snapshot
        self.recorded_at = recorded_at
        self.balances: dict[AccountKey, int] = {}
        self.entries: dict[str, StoredEntry] = {}
        self.reversed_points: dict[str, int] = {}
        self.new_outcomes: dict[str, StoredOutcome] = {}
        self.planned: list[PlannedEntry] = []
        self.outcomes: list[PlannedOutcome] = []

    def balance(self, key: AccountKey) -> int:
        if key in self.balances:
            return self.balances[key]
        if key not in self.snapshot.balances:
            raise LedgerInvariantError(f"account {key} was not loaded for the batch")
        return self.snapshot.balances[key]

    def entry(self, key: str) -> StoredEntry | None:
        return self.entries.get(key) or self.snapshot.entries.get(key)

    def reversed_so_far(self, key: str, entry: StoredEntry) -> int:
        return self.reversed_points.get(key, entry.reversed_points)

    def changed_balances(self) -> dict[AccountKey, int]:
        return {
            key: value
            for key, value in self.balances.items()
            if value != self.snapshot.balances[key]
        }

    def add(self, incoming: IncomingCommand) -> None:
        command_id = incoming.command.command_id
        previous = self.new_outcomes.get(command_id) or self.snapshot.outcomes.get(command_id)
        if previous is not None:
            self.outcomes.append(PlannedOutcome(incoming, _repeat(incoming, previous), False))
            return
        outcome = self._apply(incoming)
        self.new_outcomes[command_id] = StoredOutcome(incoming.payload_sha256, outcome)
        self.outcomes.append(PlannedOutcome(incoming, outcome, True))

    def _apply(self, incoming: IncomingCommand) -> CommandOutcome:
        command = incoming.command
        policy = self.snapshot.programmes.get(command.programme_id)
        if policy is None:
            unknown = Rejection(RejectionReason.UNKNOWN_PROGRAMME, "Programme not found")
            return self._outcome(incoming, rejection=unknown, balance_after=None)
        trial = _Trial(self, incoming, policy)
        for booking in command.bookings:
            rejection = trial.book(booking)
            if rejection is not None:
                return self._outcome(incoming, rejection=rejection, balance_after=trial.before)
        self.balances.update(trial.balances)
        self.entries.update(trial.entries)
        self.reversed_points.update(trial.reversed_points)
        self.planned.extend(trial.planned)
        repeated = bool(command.bookings) and not trial.planned
        return self._outcome(
            incoming,
            net_points=trial.net_points,
            balance_after=trial.balance(trial.user),
            status=OutcomeStatus.DUPLICATE if repeated else OutcomeStatus.BOOKED,
        )

    def _outcome(
        self,
        incoming: IncomingCommand,
        *,
        balance_after: int | None,
        rejection: Rejection | None = None,
        net_points: int = 0,
        status: OutcomeStatus = OutcomeStatus.REJECTED,
    ) -> CommandOutcome:
        # model_construct: every value here is built by the planner itself; validating each of
        # thousands of outcomes per batch again costs more than the rest of the planning.
        return CommandOutcome.model_construct(
            command_id=incoming.command.command_id,
            status=status,
            points=net_points,
            reason=None if rejection is None else rejection.message,
            reason_code=None if rejection is None else rejection.code,
            original_status=OutcomeStatus.BOOKED if status is OutcomeStatus.DUPLICATE else None,
            balance_after=balance_after,
            explanation=incoming.command.explanation,
            recorded_at=self.recorded_at,
        )


def _repeat(incoming: IncomingCommand, previous: StoredOutcome) -> CommandOutcome:
    """A command id seen before: the original's result, or a conflict if the payload differs."""
    original = previous.outcome
    if previous.payload_sha256 != incoming.payload_sha256:
        return CommandOutcome(
            command_id=original.command_id,
            status=OutcomeStatus.REJECTED,
            points=0,
            reason="command id already used with a different payload",
            reason_code=RejectionReason.IDEMPOTENCY_CONFLICT,
        )
    return original.model_copy(
        update={
            "status": OutcomeStatus.DUPLICATE,
            "original_status": original.original_status or original.status,
        }
    )


class _Trial:
    """One command's bookings, tried on a scratch layer over the planner's state."""

    def __init__(self, planner: _Planner, incoming: IncomingCommand, policy: ProgrammePolicy):
        self.planner = planner
        self.command = incoming.command
        self.policy = policy
        self.user = AccountKey.user(self.command.programme_id, self.command.user_id)
        self.before = planner.balance(self.user)
        self.balances: dict[AccountKey, int] = {}
        self.entries: dict[str, StoredEntry] = {}
        self.reversed_points: dict[str, int] = {}
        self.planned: list[PlannedEntry] = []
        self.net_points = 0

    def balance(self, key: AccountKey) -> int:
        return self.balances[key] if key in self.balances else self.planner.balance(key)

    def entry(self, key: str) -> StoredEntry | None:
        return self.entries.get(key) or self.planner.entry(key)

    def reversed_so_far(self, key: str, target: StoredEntry) -> int:
        if key in self.reversed_points:
            return self.reversed_points[key]
        return self.planner.reversed_so_far(key, target)

    def book(self, booking: Booking) -> Rejection | None:
        command = self.command
        digest = booking_sha256(command.programme_id, command.user_id, booking)
        existing = self.entry(booking.idempotency_key)
        if existing is not None:
            if existing.payload_sha256 != digest:
                return Rejection(
                    RejectionReason.IDEMPOTENCY_CONFLICT,
                    f"booking {booking.idempotency_key!r} already used with a different payload",
                )
            self.net_points += self._signed(existing.debit, existing.credit, existing.points)
            return None
        routed = route(command.programme_id, command.user_id, booking, self.policy)
        if isinstance(routed, Rejection):
            return routed
        rejection = self._check_reversal(booking, routed)
        if rejection is None:
            rejection = self._move(booking, routed, digest)
        return rejection

    def _move(self, booking: Booking, routed: Route, digest: bytes) -> Rejection | None:
        points = booking.points
        debit_after = self.balance(routed.debit) - points
        if debit_after < 0 and not may_go_negative(routed.debit, self.policy):
            code, message = floor_rejection(routed.debit.kind)
            return Rejection(code, message)
        credit_after = self.balance(routed.credit) + points
        self.balances[routed.debit] = debit_after
        self.balances[routed.credit] = credit_after
        key = booking.idempotency_key
        self.entries[key] = StoredEntry(
            digest, routed.debit, routed.credit, points, booking.reverses is not None
        )
        if booking.reverses is not None:
            target = self.entry(booking.reverses)
            if target is None:
                raise LedgerInvariantError(f"reversal target {booking.reverses!r} vanished")
            already = self.reversed_so_far(booking.reverses, target)
            self.reversed_points[booking.reverses] = already + points
        self.planned.append(self._planned(booking, routed, digest, debit_after, credit_after))
        self.net_points += self._signed(routed.debit, routed.credit, points)
        return None

    def _planned(
        self, booking: Booking, routed: Route, digest: bytes, debit_after: int, credit_after: int
    ) -> PlannedEntry:
        return PlannedEntry(
            command_id=self.command.command_id,
            programme_id=self.command.programme_id,
            user_id=self.command.user_id,
            booking=booking,
            payload_sha256=digest,
            debit=routed.debit,
            credit=routed.credit,
            debit_balance_after=debit_after,
            credit_balance_after=credit_after,
        )

    def _check_reversal(self, booking: Booking, routed: Route) -> Rejection | None:
        if booking.reverses is None:
            return None
        target = self.entry(booking.reverses)
        if target is None:
            return Rejection(
                RejectionReason.REVERSAL_TARGET_NOT_FOUND,
                f"no booking {booking.reverses!r} to reverse",
            )
        if target.is_reversal:
            return Rejection.invalid("Invalid Transaction: a reversal cannot be reversed")
        if (routed.debit, routed.credit) != (target.credit, target.debit):
            return Rejection.invalid(
                "Invalid Transaction: a reversal must move points back between the same accounts"
            )
        already = self.reversed_so_far(booking.reverses, target)
        if already + booking.points > target.points:
            return Rejection(
                RejectionReason.REVERSAL_EXCEEDS_ORIGINAL,
                f"reversals would total {already + booking.points} of {target.points} points",
            )
        return None

    def _signed(self, debit: AccountKey, credit: AccountKey, points: int) -> int:
        if credit == self.user:
            return points
        if debit == self.user:
            return -points
        return 0

"""In-memory fakes of the MyRewards slice's stores (`gateway.myrewards.ports`): users (their
ids, and their accounts edited in a transaction), the claims' catalogue and the claims requests
in dicts, the ledger's reads from
tests/unit/gateway/ledger_fakes.py, a ledger writer that books the published commands into it,
and the stores that wire them, as `MyRewardsStores.of` wires Postgres."""

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from gateway.myrewards.catalogue_store import DataField
from gateway.myrewards.claim_store import ListedClaim, ListedStatus, StoredRequest, is_refusal
from gateway.myrewards.claims import PricedClaim, Product
from gateway.myrewards.errors import IdentityTaken
from gateway.myrewards.ports import MyRewardsStores
from gateway.myrewards.registration import Catalogue as RegistrationCatalogue
from gateway.myrewards.registration import RegistrationPolicy
from gateway.myrewards.user_store import StoredUser
from schemas.events import EventV1
from schemas.ledger import (
    CommandOutcome,
    LedgerCommand,
    OutcomeStatus,
    RejectionReason,
    TransactionType,
)
from tests.unit.gateway.ledger_fakes import FakeUserLedger

AT = datetime(2026, 12, 4, 12, tzinfo=UTC)


class FakeUsers:
    def __init__(self, programme_id: str, **users: str) -> None:
        """`users`: usernames by user id (`u7="ann"` is user 7, ann)."""
        self.users = {(programme_id, int(key[1:])): name for key, name in users.items()}

    async def exists(self, programme_id: str, user_id: int) -> bool:
        return (programme_id, user_id) in self.users

    async def existing(self, programme_id: str, user_ids: Collection[int]) -> set[int]:
        return {user_id for user_id in user_ids if (programme_id, user_id) in self.users}

    async def find_ids(
        self, programme_id: str, usernames_or_emails: Collection[str]
    ) -> dict[str, int]:
        found: dict[str, int] = {}
        for name in usernames_or_emails:
            ids = [
                user_id
                for (owner, user_id), username in self.users.items()
                if owner == programme_id and username.lower() == name.lower()
            ]
            if len(ids) == 1:
                found[name] = ids[0]
        return found


class FakeCatalogue:
    def __init__(
        self,
        programme_id: str,
        products: Sequence[Product],
        fields: dict[int | None, list[DataField]] | None = None,
        promotions: Collection[int] = (),
    ) -> None:
        self.programme_id = programme_id
        self.products_ = list(products)
        self.fields = fields or {}
        self.promotions = set(promotions)

    async def promotion_active(self, programme_id: str, promotion_id: int) -> bool:
        return programme_id == self.programme_id and promotion_id in self.promotions

    async def data_fields(self, programme_id: str, promotion_id: int | None) -> list[DataField]:
        return list(self.fields.get(promotion_id, [])) if programme_id == self.programme_id else []

    async def products(self, programme_id: str, skus: Collection[str]) -> list[Product]:
        if programme_id != self.programme_id:
            return []
        return [product for product in self.products_ if product.sku in skus]


class FakeClaimStore:
    def __init__(self) -> None:
        self.requests: dict[str, tuple[str, StoredRequest]] = {}
        """(programme_id, request) by command id, in the order stored."""
        self.custom: dict[tuple[str, int], dict[str, Any]] = {}
        self.asked: list[str] = []
        """Command ids marked as asked about, in order."""

    async def find(self, programme_id: str, command_id: str) -> StoredRequest | None:
        owner, request = self.requests.get(command_id, ("", None))
        return request if owner == programme_id else None

    async def store(
        self,
        programme_id: str,
        command_id: str,
        request_sha256: bytes,
        promotion_id: int | None,
        claims: Sequence[tuple[PricedClaim, dict[str, Any]]],
    ) -> bool:
        if command_id in self.requests:
            return False
        request = StoredRequest(
            command_id, request_sha256, promotion_id, "pending", None, len(claims),
            sum(claim.points for claim, _ in claims), [claim for claim, _ in claims],
        )  # fmt: skip
        self.requests[command_id] = (programme_id, request)
        for claim, custom in claims:
            self.custom[command_id, claim.index] = custom
        return True

    async def settle(self, command_id: str, outcome: CommandOutcome) -> None:
        programme_id, request = self.requests[command_id]
        if request.status != "pending":
            return
        if is_refusal(outcome):
            code = str(outcome.reason_code or "invalid_transaction")
            request = dataclasses.replace(request, status="rejected", reason_code=code, claims=[])
        else:
            request = dataclasses.replace(request, status="booked")
        self.requests[command_id] = (programme_id, request)

    async def pending(self, programme_id: str, limit: int) -> list[str]:
        waiting = [
            key
            for key, (owner, request) in self.requests.items()
            if owner == programme_id and request.status == "pending"
        ]
        return sorted(waiting, key=self.asked.count)[:limit]

    async def mark_asked(self, command_ids: Sequence[str]) -> None:
        self.asked.extend(command_ids)

    async def page(
        self, programme_id: str, status: ListedStatus, page: int, num_of_items: int
    ) -> tuple[list[ListedClaim], int]:
        found = [
            (request, claim)
            for owner, request in self.requests.values()
            if owner == programme_id and request.status == status
            for claim in request.claims
        ]
        listed = [
            ListedClaim(
                id=number,
                user_id=claim.user_id,
                product_or_activity=claim.sku,
                product_id=claim.product_id,
                quantity=claim.quantity,
                points=claim.points,
                promotion_id=request.promotion_id,
                date_of_sale=claim.date_of_sale,
                custom_fields=self.custom[request.command_id, claim.index],
                status=status,
                reference=request.command_id,
                created_at=AT,
            )
            for number, (request, claim) in enumerate(found, start=1)
        ]
        start = (page - 1) * num_of_items
        return listed[start : start + num_of_items], len(listed)


class LedgerWriter:
    """The ledger writer in memory: books a published command's bookings (each for its user,
    the command's own by default) into `ledger`, all or nothing: a debit the balance cannot
    cover refuses the command (402), and so does a credit past `budget` (412)."""

    def __init__(self, ledger: FakeUserLedger, budget: int | None = None) -> None:
        self.ledger = ledger
        self.budget = budget

    def __call__(self, command_id: str, record: EventV1 | LedgerCommand) -> CommandOutcome:
        assert isinstance(record, LedgerCommand)
        self.ledger.commands[command_id] = record
        legs = [
            (
                booking.user_id or record.user_id,
                booking.points
                if booking.transaction_type is TransactionType.CREDIT
                else -booking.points,
                booking,
            )
            for booking in record.bookings
        ]
        refusal = self._refusal(record.programme_id, legs)
        if refusal is not None:
            outcome = CommandOutcome(
                command_id=command_id, status=OutcomeStatus.REJECTED, points=0,
                reason_code=refusal, reason=f"refused: {refusal.value}",
            )  # fmt: skip
        else:
            for user_id, value, booking in legs:
                self.ledger.book(
                    record.programme_id, user_id, value, AT,
                    variety=booking.variety.value, key=booking.idempotency_key,
                )  # fmt: skip
            own = [value for user_id, value, _ in legs if user_id == record.user_id]
            history = self.ledger.transactions.get((record.programme_id, record.user_id))
            outcome = CommandOutcome(
                command_id=command_id, status=OutcomeStatus.BOOKED, points=sum(own),
                balance_after=history[-1].balance if history else None,
            )  # fmt: skip
        self.ledger.outcomes.setdefault(command_id, outcome)
        return outcome

    def _refusal(
        self, programme_id: str, legs: list[tuple[str, int, Any]]
    ) -> RejectionReason | None:
        credits = sum(value for _, value, _ in legs if value > 0)
        if self.budget is not None and credits > self.budget:
            return RejectionReason.PROGRAMME_BUDGET_EXHAUSTED
        for user_id, value, _ in legs:
            history = self.ledger.transactions.get((programme_id, user_id))
            if value < 0 and (history[-1].balance if history else 0) < -value:
                return RejectionReason.INSUFFICIENT_POINTS
        return None


def stores(users: FakeUsers, catalogue: FakeCatalogue | None = None) -> MyRewardsStores:
    catalogue = catalogue or FakeCatalogue(next(iter(users.users))[0], [])
    return MyRewardsStores(users, catalogue, FakeClaimStore(), FakeUserLedger())


def claims_of(stores_: MyRewardsStores) -> FakeClaimStore:
    assert isinstance(stores_.claims, FakeClaimStore)
    return stores_.claims


def ledger_of(stores_: MyRewardsStores) -> FakeUserLedger:
    assert isinstance(stores_.ledger, FakeUserLedger)
    return stores_.ledger


class FakeUserRecords:
    """One transaction over a programme's users: changes go to copies, kept by
    `FakeUserAccounts.editing` only when the block ends without raising."""

    def __init__(self, accounts: "FakeUserAccounts", programme_id: str) -> None:
        self.accounts = accounts
        self.programme_id = programme_id
        self.users = dict(accounts.users)
        self.identities = dict(accounts.identities)

    async def rules(self) -> tuple[RegistrationPolicy, RegistrationCatalogue]:
        return self.accounts.rules[self.programme_id]

    async def locked(self, user_id: int) -> StoredUser | None:
        return self.users.get((self.programme_id, user_id))

    async def insert(self, identity_key: str, user: Mapping[str, Any]) -> int:
        user_id = 1 + len(self.users)
        self._identify(user_id, identity_key)
        self.users[self.programme_id, user_id] = StoredUser(dict(user), {})
        return user_id

    async def update(self, user_id: int, identity_key: str, user: Mapping[str, Any]) -> None:
        self._identify(user_id, identity_key)
        stored = self.users[self.programme_id, user_id]
        self.users[self.programme_id, user_id] = StoredUser(dict(user), stored.answers)

    async def save_answers(self, user_id: int, answers: Mapping[int, str]) -> None:
        stored = self.users[self.programme_id, user_id]
        self.users[self.programme_id, user_id] = StoredUser(stored.fields, dict(answers))

    def _identify(self, user_id: int, identity_key: str) -> None:
        """The unique index on (programme, identity key)."""
        owner = self.identities.get((self.programme_id, identity_key))
        if owner not in (None, user_id):
            raise IdentityTaken
        self.identities = {
            key: found for key, found in self.identities.items() if found != user_id
        } | {(self.programme_id, identity_key): user_id}


class FakeUserAccounts:
    def __init__(
        self,
        programme_id: str,
        policy: RegistrationPolicy,
        catalogue: RegistrationCatalogue | None = None,
    ) -> None:
        self.rules = {programme_id: (policy, catalogue or RegistrationCatalogue())}
        self.users: dict[tuple[str, int], StoredUser] = {}
        self.identities: dict[tuple[str, str], int] = {}

    async def find_user(self, programme_id: str, user_id: int) -> StoredUser | None:
        return self.users.get((programme_id, user_id))

    @contextlib.asynccontextmanager
    async def editing(self, programme_id: str) -> AsyncIterator[FakeUserRecords]:
        records = FakeUserRecords(self, programme_id)
        yield records
        self.users, self.identities = records.users, records.identities

"""What the MyRewards slice's logic (`gateway.myrewards.points`, `gateway.myrewards.sales`,
`gateway.myrewards.performance`, `gateway.myrewards.users`) needs from its stores, as Protocols:
the process wires Postgres behind them (`MyRewardsStores.of`, `PostgresUsers`), the slice's unit
tests small in-memory fakes (tests/unit/gateway/myrewards). Publishing and answering go through
the shared path's ports (`gateway.publishing.ports`), held by the gateway's services."""

from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg

from gateway.myrewards.catalogue_store import DataField, PostgresClaimsCatalogue
from gateway.myrewards.claim_store import (
    ListedClaim,
    ListedStatus,
    PostgresClaimStore,
    StoredRequest,
)
from gateway.myrewards.claims import PricedClaim, Product
from gateway.myrewards.registration import Catalogue, RegistrationPolicy
from gateway.myrewards.user_store import PostgresUsers, StoredUser
from gateway.user_ledger import PostgresUserLedger
from ledger import reads
from schemas.ledger import CommandOutcome, LedgerCommand


class Users(Protocol):
    """The programme's MyRewards users, by their ids."""

    async def exists(self, programme_id: str, user_id: int) -> bool: ...

    async def existing(self, programme_id: str, user_ids: Collection[int]) -> set[int]:
        """Those of `user_ids` that are users of the programme."""

    async def find_ids(
        self, programme_id: str, usernames_or_emails: Collection[str]
    ) -> dict[str, int]:
        """For each name, the one user whose username or email it is (case-insensitive); a
        name of no user, or of more than one, is left out."""


class UserRecords(Protocol):
    """A programme's users inside one transaction (`UserAccounts.editing`)."""

    async def rules(self) -> tuple[RegistrationPolicy, Catalogue]:
        """The programme's registration rules, questions and user groups."""

    async def locked(self, user_id: int) -> StoredUser | None:
        """The user, locked until the transaction ends; None when not the programme's."""

    async def insert(self, identity_key: str, user: Mapping[str, Any]) -> int:
        """Stores a new user and returns its id; raises `IdentityTaken` when another user of
        the programme has the identity key."""

    async def update(self, user_id: int, identity_key: str, user: Mapping[str, Any]) -> None:
        """Replaces the user's fields; raises `IdentityTaken` as `insert`."""

    async def save_answers(self, user_id: int, answers: Mapping[int, str]) -> None:
        """Stores the user's registration answers (each replaces the question's former one)."""


class UserAccounts(Protocol):
    async def find_user(self, programme_id: str, user_id: int) -> StoredUser | None: ...

    def editing(self, programme_id: str) -> AbstractAsyncContextManager[UserRecords]:
        """One transaction over the programme's users: its changes are kept when the block
        ends, none of them when it raises."""


class ClaimsCatalogue(Protocol):
    """The programme's configuration that claims are checked against."""

    async def promotion_active(self, programme_id: str, promotion_id: int) -> bool: ...

    async def data_fields(self, programme_id: str, promotion_id: int | None) -> list[DataField]:
        """The data fields of the promotion's claims (None: the programme's own)."""

    async def products(self, programme_id: str, skus: Collection[str]) -> list[Product]:
        """The programme's active products of these SKUs (of any promotion, or none)."""


class ClaimStore(Protocol):
    """Claims requests and their claims (see `gateway.myrewards.claim_store`)."""

    async def find(self, programme_id: str, command_id: str) -> StoredRequest | None: ...

    async def store(
        self,
        programme_id: str,
        command_id: str,
        request_sha256: bytes,
        promotion_id: int | None,
        claims: Sequence[tuple[PricedClaim, dict[str, Any]]],
    ) -> bool:
        """Stores the request with its claims, all or nothing; False, storing nothing, when a
        request with this command id is stored already."""

    async def settle(self, command_id: str, outcome: CommandOutcome) -> None:
        """Records the ledger's outcome of a pending request (again: no change)."""

    async def pending(self, programme_id: str, limit: int) -> list[str]:
        """Command ids of the programme's pending requests, those asked about least recently
        first."""

    async def mark_asked(self, command_ids: Sequence[str]) -> None:
        """The ledger had no outcome for these pending requests yet: ask about them last."""

    async def page(
        self, programme_id: str, status: ListedStatus, page: int, num_of_items: int
    ) -> tuple[list[ListedClaim], int]:
        """The programme's claims of `status`, oldest first, and how many there are."""


class MyRewardsLedger(Protocol):
    async def list_transactions(
        self, programme_id: str, user_id: str, *, after_id: int, limit: int
    ) -> list[reads.Transaction]: ...

    async def last_transaction(
        self, programme_id: str, user_id: str
    ) -> reads.Transaction | None: ...

    async def entry_id(self, idempotency_key: str) -> int | None:
        """The journal entry booked under the key, if any."""

    async def command_is_another(self, command: LedgerCommand) -> bool:
        """Whether the outcome stored under the command's id is of another command."""

    async def get_outcomes(self, command_ids: Iterable[str]) -> dict[str, CommandOutcome]: ...


@dataclass(frozen=True, slots=True)
class MyRewardsStores:
    users: Users
    catalogue: ClaimsCatalogue
    claims: ClaimStore
    ledger: MyRewardsLedger

    @classmethod
    def of(cls, pool: asyncpg.Pool) -> "MyRewardsStores":
        """The stores in Postgres, over the gateway's pool."""
        return cls(
            PostgresUsers(pool),
            PostgresClaimsCatalogue(pool),
            PostgresClaimStore(pool),
            PostgresUserLedger(pool),
        )

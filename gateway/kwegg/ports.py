"""What the Kwegg slice's logic (`gateway.kwegg.user_calls`, `gateway.kwegg.sessions`) needs
from its stores, as Protocols: the process wires Postgres behind them (`KweggStores.of`), the
slice's unit tests small in-memory fakes (tests/unit/gateway/kwegg). Publishing and answering
go through the shared path's ports (`gateway.publishing.ports`), held by the tenant's services."""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import asyncpg

from gateway.kwegg.offers import Offer, OfferPage, PostgresOffers
from gateway.kwegg.token_store import PostgresAccessTokens
from gateway.kwegg.tokens import Session
from gateway.tier_standing import TierReads
from gateway.user_ledger import PostgresUserLedger
from ledger import reads


class AccessTokens(Protocol):
    async def store(
        self,
        token_sha256: bytes,
        session: Session,
        platform: str | None,
        now: datetime,
        tokens_per_user_max: int,
    ) -> None:
        """Stores the token's digest for the session, and drops the user's expired tokens and
        the oldest live ones beyond `tokens_per_user_max` (this one included in the count)."""

    async def session(self, token_sha256: bytes, now: datetime) -> Session | None:
        """Whom the token speaks for; None when unknown or expired at `now`."""


class Offers(Protocol):
    async def page_of(self, programme_id: str, *, page: int, num_of_items: int) -> OfferPage:
        """The programme's offers, oldest first, `page` from 1, with their total count."""

    async def find(self, programme_id: str, offer_id: str) -> Offer | None: ...


class KweggLedger(TierReads, Protocol):
    """The ledger's reads the slice makes: its users' balances, holdings, transactions and
    their tier's standing (`TierReads`)."""

    async def get_balance(self, programme_id: str, user_id: str) -> int: ...

    async def find_holdings(self, programme_id: str, user_id: str) -> reads.Holdings | None: ...

    async def transactions_page(
        self, programme_id: str, user_id: str, *, page: int, num_of_items: int
    ) -> reads.TransactionPage: ...


@dataclass(frozen=True, slots=True)
class KweggStores:
    tokens: AccessTokens
    offers: Offers
    ledger: KweggLedger

    @classmethod
    def of(cls, pool: asyncpg.Pool) -> "KweggStores":
        """The stores in Postgres, over the gateway's pool."""
        return cls(PostgresAccessTokens(pool), PostgresOffers(pool), PostgresUserLedger(pool))

"""In-memory fakes of the Kwegg slice's stores (`gateway.kwegg.ports`): access tokens and offers
in dicts, the ledger's reads from tests/unit/gateway/ledger_fakes.py, and the stores that wire
them, as `KweggStores.of` wires Postgres."""

from dataclasses import dataclass
from datetime import datetime

from gateway.kwegg.offers import Offer, OfferPage
from gateway.kwegg.ports import KweggStores
from gateway.kwegg.tokens import Session
from tests.unit.gateway.ledger_fakes import FakeUserLedger


@dataclass(frozen=True, slots=True)
class StoredToken:
    session: Session
    platform: str | None
    created_at: datetime


class FakeAccessTokens:
    def __init__(self) -> None:
        self.tokens: dict[bytes, StoredToken] = {}

    async def store(
        self,
        token_sha256: bytes,
        session: Session,
        platform: str | None,
        now: datetime,
        tokens_per_user_max: int,
    ) -> None:
        self.tokens[token_sha256] = StoredToken(session, platform, now)
        user = (session.programme_id, session.user_id)
        live = sorted(
            (
                (stored.created_at, digest)
                for digest, stored in self.tokens.items()
                if (stored.session.programme_id, stored.session.user_id) == user
            ),
            reverse=True,
        )
        for index, (_, digest) in enumerate(live):
            if index >= tokens_per_user_max or self.tokens[digest].session.expires_at <= now:
                del self.tokens[digest]

    async def session(self, token_sha256: bytes, now: datetime) -> Session | None:
        stored = self.tokens.get(token_sha256)
        if stored is None or stored.session.expires_at <= now:
            return None
        return stored.session


class FakeOffers:
    def __init__(self, *offers: tuple[str, Offer]) -> None:
        """`offers`: (programme_id, offer), oldest first."""
        self.offers: dict[tuple[str, str], Offer] = {
            (programme_id, offer.offer_id): offer for programme_id, offer in offers
        }

    async def page_of(self, programme_id: str, *, page: int, num_of_items: int) -> OfferPage:
        found = [offer for (owner, _), offer in self.offers.items() if owner == programme_id]
        start = (page - 1) * num_of_items
        return OfferPage(found[start : start + num_of_items], len(found))

    async def find(self, programme_id: str, offer_id: str) -> Offer | None:
        return self.offers.get((programme_id, offer_id))


def stores(*offers: tuple[str, Offer]) -> KweggStores:
    return KweggStores(FakeAccessTokens(), FakeOffers(*offers), FakeUserLedger())


def tokens_of(stores_: KweggStores) -> FakeAccessTokens:
    assert isinstance(stores_.tokens, FakeAccessTokens)
    return stores_.tokens


def ledger_of(stores_: KweggStores) -> FakeUserLedger:
    assert isinstance(stores_.ledger, FakeUserLedger)
    return stores_.ledger

"""Kwegg offers and the MyRewards set-up through the service layer on the real Postgres: an
offer created (audited, listed with its status), a taken id refused beside its field, an offer
ended once; a MyRewards row added and changed through the file model's validation, saved as a
file load would be (what the MyRewards API then reads), each change audited, and a change the
whole set-up refuses stores nothing."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from gateway.admin.service import audit, myrewards, offers
from gateway.admin.service.backend import Backend
from gateway.admin.service.errors import Forbidden, Invalid
from gateway.myrewards import configuration
from gateway.myrewards.configuration import MyRewardsConfig, Product, Promotion
from schemas.programme import ProgrammeConfig
from tests.integration.admin.conftest import CLI, make_admin

pytestmark = pytest.mark.integration


async def test_an_offer_is_created_listed_and_ended_once(
    backend: Backend, programme: ProgrammeConfig
) -> None:
    pid = programme.programme_id
    until = datetime.now(UTC) + timedelta(days=30)
    new = offers.NewOffer(offer_id="coffee", name="Free coffee", points=150, valid_until=until)
    made = await offers.create(backend, CLI, pid, new)
    assert (made.offer_id, made.points, made.active) == ("coffee", 150, True)
    with pytest.raises(Invalid) as taken:
        await offers.create(backend, CLI, pid, new)
    assert "offer_id" in taken.value.fields
    generated = await offers.create(backend, CLI, pid, offers.NewOffer(name="Tea", points=5))
    uuid.UUID(generated.offer_id)
    page = await offers.page(backend.pool, CLI, pid)
    assert [o.offer_id for o in page.offers] == ["coffee", generated.offer_id]
    assert page.total_count == 2

    viewer = (await make_admin(backend.pool, "viewer", [pid])).actor()
    with pytest.raises(Forbidden):
        await offers.end(backend, viewer, pid, "coffee")
    ended = await offers.end(backend, CLI, pid, "coffee")
    assert ended.status(datetime.now(UTC)) == "INACTIVE"
    assert (await offers.end(backend, CLI, pid, "coffee")) == ended
    entries = await audit.entries(backend.pool, CLI, audit.Filters(pid, "offer", "coffee"))
    assert [e.action for e in entries] == ["offer.ended", "offer.created"]
    assert entries[0].before is not None
    assert entries[1].after is not None
    assert [d.path for d in entries[0].differences] == ["status"]


async def test_a_myrewards_row_is_saved_through_the_file_models_validation(
    backend: Backend, programme: ProgrammeConfig
) -> None:
    pid = programme.programme_id
    assert (await myrewards.setup(backend.pool, CLI, pid)) == MyRewardsConfig(programme_id=pid)
    await configuration.save(
        backend.pool,
        MyRewardsConfig.model_validate(
            {"programme_id": pid, "identifier": "username", "promotions": [{"id": 1, "name": "A"}],
             "products": [{"id": 1, "product_or_activity": "SKU", "name": "One",
                           "points_per_unit": 10, "promotion_id": 1}]}
        ),
    )  # fmt: skip
    promotion = Promotion(id=2, name="Spring double points")
    added = await myrewards.put_row(backend, CLI, pid, "promotions", promotion)
    assert (added.added, added.changed) == (True, True)
    cheaper = Product(id=1, product_or_activity="SKU", name="One", points_per_unit=4,
                      promotion_id=2)  # fmt: skip
    changed = await myrewards.put_row(backend, CLI, pid, "products", cheaper)
    assert (changed.added, changed.changed) == (False, True)
    again = await myrewards.put_row(backend, CLI, pid, "products", cheaper)
    assert again.changed is False

    stored = await myrewards.setup(backend.pool, CLI, pid)
    assert stored.identifier == "username"  # the rest of the set-up is kept
    assert [p.name for p in stored.promotions] == ["A", "Spring double points"]
    assert stored.products == (cheaper,)
    twin = Product(id=2, product_or_activity="SKU", name="Twin", points_per_unit=1, promotion_id=2)
    with pytest.raises(Invalid):
        await myrewards.put_row(backend, CLI, pid, "products", twin)
    assert len((await myrewards.setup(backend.pool, CLI, pid)).products) == 1

    entries = await audit.entries(backend.pool, CLI, audit.Filters(pid))
    assert [(e.action, e.object_type, e.object_id) for e in entries[:2]] == [
        ("myrewards.row_changed", "myrewards_product", "1"),
        ("myrewards.row_added", "myrewards_promotion", "2"),
    ]
    assert sorted(d.path for d in entries[0].differences) == ["points_per_unit", "promotion_id"]
    viewer = (await make_admin(backend.pool, "viewer", [pid])).actor()
    with pytest.raises(Forbidden):
        await myrewards.put_row(backend, viewer, pid, "promotions", promotion)

"""deploy/programmes/demo.yaml validates and holds the mgPass event-type table."""

from decimal import Decimal

from tests.unit.engine.fixtures import demo_config


def test_demo_programme_validates() -> None:
    config = demo_config()
    assert (config.programme_id, config.time_zone, config.default_tier) == (
        "demo",
        "Africa/Accra",
        "Bronze",
    )
    assert {t.name: t.multiplier for t in config.tiers} == {
        "Bronze": Decimal("1.0"),
        "Silver": Decimal("1.5"),
        "Gold": Decimal("2.0"),
    }
    (partner,) = config.partners
    assert set(partner.allowed_event_types) == {e.name for e in config.event_types}
    rules = {r.event_type: r for r in config.rules}
    assert rules["article_read"].daily_cap == 50
    assert (rules["signup"].frequency, rules["referral"].frequency) == ("once", "once")
    assert rules["daily_login"].frequency == "daily"
    assert (rules["purchase"].points_type, rules["purchase"].unit_field) == ("per_unit", "amount")

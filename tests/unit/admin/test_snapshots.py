"""Building a programme's next snapshot from a change: pure, validated whole, one version up; a
programme exported as a file loads back unchanged; differences between snapshots by path."""

from decimal import Decimal
from pathlib import Path

import pytest

from gateway.admin.programmes import load_file
from gateway.admin.service.errors import Invalid
from gateway.admin.service.snapshots import (
    ProgrammeSettings,
    differences,
    export_yaml,
    new_programme,
    parse_settings,
    parse_yaml,
    plain,
    settings_of,
    unchanged,
    with_partner,
    with_settings,
    without_partner,
)
from schemas.programme import Partner, ProgrammeConfig, Tier

REPO = Path(__file__).resolve().parents[3]
PROGRAMME_FILES = sorted(
    [*REPO.glob("deploy/programmes/*.yaml"), *REPO.glob("tests/e2e/programmes/*.yaml")]
)
DEMO = load_file(REPO / "deploy/programmes/demo.yaml")


def test_new_settings_make_the_next_version_and_keep_the_registries() -> None:
    settings = settings_of(DEMO).model_copy(update={"time_zone": "Europe/Paris"})
    after = with_settings(DEMO, settings)
    assert after.version == DEMO.version + 1
    assert after.time_zone == "Europe/Paris"
    assert (after.rules, after.partners, after.event_types) == (
        DEMO.rules, DEMO.partners, DEMO.event_types,
    )  # fmt: skip


def test_settings_are_checked_against_the_whole_programme() -> None:
    settings = settings_of(DEMO).model_copy(update={"default_tier": "Platinum"})
    with pytest.raises(Invalid) as refused:
        with_settings(DEMO, settings)
    assert refused.value.fields == {"default_tier": ["'Platinum' is not one of the tiers"]}


def test_a_forms_settings_are_refused_by_field() -> None:
    with pytest.raises(Invalid) as refused:
        parse_settings({"time_zone": "Mars/Olympus", "tiers": [{"name": "A", "multiplier": "-1"}]})
    assert set(refused.value.fields) == {"time_zone", "tiers.0.multiplier"}
    assert refused.value.fields["time_zone"] == ["unknown IANA time zone 'Mars/Olympus'"]
    with pytest.raises(Invalid) as refused:
        with_settings(DEMO, parse_settings({"tiers": []}))
    assert refused.value.fields["tiers"] == ["at least one tier is required"]


def test_a_new_programme_is_version_one_with_its_settings_only() -> None:
    settings = ProgrammeSettings(tiers=(Tier(name="Blue"),), default_tier="Blue")
    config = new_programme("fresh", settings)
    assert (config.version, config.default_tier, config.partners, config.rules) == (
        1, "Blue", (), (),
    )  # fmt: skip
    with pytest.raises(Invalid) as refused:
        new_programme("no spaces", settings)
    assert refused.value.fields == {"programme_id": ["1 to 64 letters, digits, '.', '_' or '-'"]}


def test_a_partner_is_replaced_in_place_or_added_at_the_end() -> None:
    changed = Partner(partner_id="mgpass-demo", multiplier=Decimal(3))
    after = with_partner(DEMO, changed)
    assert after.partners == (changed,)
    added = with_partner(after, Partner(partner_id="second"))
    assert [p.partner_id for p in added.partners] == ["mgpass-demo", "second"]
    assert without_partner(added, "mgpass-demo").partners == (Partner(partner_id="second"),)


def test_a_partner_allowed_an_undeclared_event_type_is_refused() -> None:
    with pytest.raises(Invalid) as refused:
        with_partner(DEMO, Partner(partner_id="x", allowed_event_types=("teleport",)))
    assert refused.value.fields == {
        "partners.1.allowed_event_types": ["'teleport' is not a declared event type"]
    }


def test_removing_an_unknown_partner_is_refused() -> None:
    with pytest.raises(Invalid, match="has no partner 'ghost'"):
        without_partner(DEMO, "ghost")


def test_a_change_that_changes_nothing_is_recognised() -> None:
    assert unchanged(DEMO, with_settings(DEMO, settings_of(DEMO)))
    assert not unchanged(DEMO, with_partner(DEMO, Partner(partner_id="x")))


@pytest.mark.parametrize("path", PROGRAMME_FILES, ids=lambda path: path.name)
def test_an_exported_programme_loads_back_unchanged(path: Path) -> None:
    config = load_file(path)
    text = export_yaml(config, header="exported\nfor a test")
    assert text.startswith("# exported\n# for a test\n")
    assert parse_yaml(text) == config
    assert export_yaml(parse_yaml(text)) == export_yaml(config)


def test_a_file_that_is_not_a_programme_is_refused_with_where() -> None:
    with pytest.raises(Invalid, match="not YAML at line 2"):
        parse_yaml("programme_id: p\n  version: [\n")
    with pytest.raises(Invalid, match="a mapping"):
        parse_yaml("- a list\n")
    with pytest.raises(Invalid) as refused:
        parse_yaml("programme_id: p\n")
    assert list(refused.value.fields) == ["version"]


def test_differences_name_list_items_by_their_ids() -> None:
    (partner,) = DEMO.partners
    after = with_partner(DEMO, partner.model_copy(update={"rate_limit_per_minute": 5}))
    after = with_partner(after, Partner(partner_id="new"))
    found = {d.path: (d.before, d.after) for d in differences(plain(DEMO), plain(after))}
    assert found == {
        "version": (1, 3),
        "partners[mgpass-demo].rate_limit_per_minute": (30, 5),
        "partners[new]": (None, Partner(partner_id="new").model_dump(mode="json")),
    }


def test_a_first_version_differs_from_nothing_by_every_field() -> None:
    config = ProgrammeConfig(programme_id="p", version=1)
    paths = [d.path for d in differences(None, plain(config))]
    assert paths[:2] == ["programme_id", "version"]
    assert "tiers[Base]" in paths

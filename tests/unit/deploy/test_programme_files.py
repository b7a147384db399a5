"""Every file shipped in deploy/programmes loads: programme snapshots (`*.yaml`) and, in
`myrewards/`, MyRewards set-ups (`<programme id>.yaml`), each of a programme shipped beside it."""

from pathlib import Path

import pytest

from gateway.admin import programmes
from gateway.admin.cli import DEMO_MYREWARDS, DEMO_PROGRAMME
from gateway.myrewards import configuration

FOLDER = Path(__file__).resolve().parents[3] / "deploy" / "programmes"
PROGRAMMES = sorted(FOLDER.glob("*.yaml"))
MYREWARDS = sorted((FOLDER / "myrewards").glob("*.yaml"))


def test_the_folder_ships_the_demo_and_its_myrewards_set_up() -> None:
    assert DEMO_PROGRAMME in PROGRAMMES
    assert DEMO_MYREWARDS in MYREWARDS


@pytest.mark.parametrize("path", PROGRAMMES, ids=lambda path: path.name)
def test_a_programme_file_loads(path: Path) -> None:
    assert programmes.load_file(path).programme_id == path.stem


@pytest.mark.parametrize("path", MYREWARDS, ids=lambda path: path.name)
def test_a_myrewards_file_loads_for_a_shipped_programme(path: Path) -> None:
    config = configuration.load_file(path)
    assert config.programme_id == path.stem
    assert FOLDER / f"{config.programme_id}.yaml" in PROGRAMMES
    assert config.products, "an example set-up shows products"

"""Loading a programme file again: the same snapshot is unchanged, also when it was stored
before a field with a default existed; a change needs a higher version."""

import json
from pathlib import Path

import pytest

from gateway.admin.programmes import StaleConfiguration, is_newer, load_file, snapshot_bytes

DEMO = Path(__file__).resolve().parents[3] / "deploy" / "programmes" / "demo.yaml"


def test_a_snapshot_stored_before_the_event_time_policy_equals_its_file() -> None:
    config = load_file(DEMO)
    stored = json.loads(snapshot_bytes(config))
    del stored["event_time"]
    assert is_newer(config, json.dumps(stored), config.version) is False


def test_a_changed_snapshot_under_the_stored_version_is_refused() -> None:
    config = load_file(DEMO)
    stored = json.loads(snapshot_bytes(config)) | {"name": "renamed"}
    with pytest.raises(StaleConfiguration, match="raise `version` to publish a change"):
        is_newer(config, json.dumps(stored), config.version)
    assert is_newer(config, json.dumps(stored), config.version - 1) is True

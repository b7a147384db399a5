import ast
import os
import time
from pathlib import Path

import pytest

from evidence.core.replay import Replay
from ledger.core.planner import plan_batch
from processors.engine import decide
from runtime import native


def _touch(path: Path, mtime: float) -> None:
    path.write_text("")
    os.utime(path, (mtime, mtime))


def test_a_source_newer_than_its_compiled_module_is_stale(tmp_path: Path) -> None:
    now = time.time()
    _touch(tmp_path / "caps.py", now)
    _touch(tmp_path / "caps.cpython-311-x86_64-linux-gnu.so", now - 60)
    _touch(tmp_path / "state.py", now - 120)
    _touch(tmp_path / "state.cpython-311-x86_64-linux-gnu.so", now - 60)
    assert native.stale_modules(tmp_path) == ["caps.py"]


def test_a_source_without_a_compiled_module_is_stale_when_others_have_one(
    tmp_path: Path,
) -> None:
    now = time.time()
    _touch(tmp_path / "state.py", now - 120)
    _touch(tmp_path / "state.cpython-311-x86_64-linux-gnu.so", now - 60)
    _touch(tmp_path / "added.py", now - 120)
    assert native.stale_modules(tmp_path) == ["added.py"]


def test_a_pure_python_install_has_nothing_stale(tmp_path: Path) -> None:
    _touch(tmp_path / "state.py", time.time())
    assert native.stale_modules(tmp_path) == []


@pytest.mark.skipif(
    os.environ.get("LOYALTY_PURE_PYTHON") == "1", reason="built without compiling, on purpose"
)
def test_the_installed_cores_are_the_compiled_ones() -> None:
    # What the tests exercise is what the services run: the mypyc build of setup.py.
    engine = native.compiled_modules(native.package_directory("processors.engine"))
    ledger = native.compiled_modules(native.package_directory("ledger.core"))
    replay = native.compiled_modules(native.package_directory("evidence.core"))
    assert set(engine) >= {"decide", "draft", "state", "compile"}
    assert set(ledger) >= {"planner", "rows", "hashing"}
    assert set(replay) >= {"replay", "apart"}
    assert type(Replay.add).__name__ != "function"  # a compiled method
    assert type(decide).__name__ == "builtin_function_or_method"
    assert type(plan_batch).__name__ == "builtin_function_or_method"
    assert native.runs_compiled()
    assert native.stale_sources() == []


def _stale_checkout(root: Path) -> None:
    now = time.time()
    for package in ("processors/engine", "ledger/core"):
        directory = root / package
        directory.mkdir(parents=True)
        _touch(directory / "state.py", now)
        _touch(directory / "state.cpython-311-x86_64-linux-gnu.so", now - 60)


def test_stale_sources_are_reported_in_a_source_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stale_checkout(tmp_path)
    (tmp_path / "setup.py").write_text("")
    monkeypatch.setattr(native, "package_directory", lambda p: tmp_path / p.replace(".", "/"))
    assert native.stale_sources() == ["processors/engine/state.py", "ledger/core/state.py"]


def test_an_installed_wheel_is_never_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # pip writes a wheel's files in its own order: a source may look newer than its module.
    _stale_checkout(tmp_path)
    monkeypatch.setattr(native, "package_directory", lambda p: tmp_path / p.replace(".", "/"))
    assert native.stale_sources() == []


def test_setup_compiles_the_packages_the_checks_look_at() -> None:
    setup = ast.parse((Path(__file__).parents[3] / "setup.py").read_text())
    compiled = next(
        node.value
        for node in setup.body
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "COMPILED"
    )
    packages = [path.replace("/", ".") for path in ast.literal_eval(compiled)]
    assert packages == list(native.COMPILED_PACKAGES)

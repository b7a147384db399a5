import os
import time
from pathlib import Path

import pytest

from deploy import native
from processors.engine import decide


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
def test_the_installed_engine_is_the_compiled_one() -> None:
    # What the tests exercise is what the processors run: the mypyc build of setup.py.
    assert set(native.compiled_modules()) >= {"decide", "draft", "state", "compile"}
    assert type(decide).__name__ == "builtin_function_or_method"

"""The engine's compiled modules (mypyc, see setup.py): which exist, and which are older than
their sources. A source edited after the last install runs its old compiled version until the
package is built again (`./dev install`), so the test session and the processors check."""

import importlib.util
from pathlib import Path
from typing import Final

ENGINE_PACKAGE: Final = "processors.engine"


def engine_directory() -> Path:
    spec = importlib.util.find_spec(ENGINE_PACKAGE)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"{ENGINE_PACKAGE} is not installed")
    return Path(spec.origin).parent


def compiled_modules(directory: Path | None = None) -> dict[str, Path]:
    """Module name -> its compiled file, for the modules built as extensions."""
    found = (directory or engine_directory()).glob("*.so")
    return {path.name.split(".", 1)[0]: path for path in found}


def stale_modules(directory: Path | None = None) -> list[str]:
    """Sources edited after their module was compiled (or with no compiled module while
    others have one): what runs is not what the file says."""
    directory = directory or engine_directory()
    compiled = compiled_modules(directory)
    if not compiled:
        return []  # a pure-Python install (LOYALTY_PURE_PYTHON=1): nothing can be stale
    stale = []
    for source in sorted(directory.glob("*.py")):
        built = compiled.get(source.stem)
        if built is None or built.stat().st_mtime < source.stat().st_mtime:
            stale.append(source.name)
    return stale

"""The pure cores' compiled modules (mypyc, see setup.py): which exist, and which are older than
their sources. A source edited after the last install runs its old compiled version until the
package is built again (`./dev install`), so the test session and the processors check."""

import importlib.util
import logging
from pathlib import Path
from typing import Final

COMPILED_PACKAGES: Final = ("processors.engine", "ledger.core", "evidence.core")


def package_directory(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"{package} is not installed")
    return Path(spec.origin).parent


def compiled_modules(directory: Path) -> dict[str, Path]:
    """Module name -> its compiled file, for the modules built as extensions."""
    return {path.name.split(".", 1)[0]: path for path in directory.glob("*.so")}


def stale_modules(directory: Path) -> list[str]:
    """Sources edited after their module was compiled (or with no compiled module while
    others have one): what runs is not what the file says."""
    compiled = compiled_modules(directory)
    if not compiled:
        return []  # a pure-Python install (LOYALTY_PURE_PYTHON=1): nothing can be stale
    stale = []
    for source in sorted(directory.glob("*.py")):
        built = compiled.get(source.stem)
        if built is None or built.stat().st_mtime < source.stat().st_mtime:
            stale.append(source.name)
    return stale


def stale_sources() -> list[str]:
    """`stale_modules` of every compiled package, as paths: `ledger/core/planner.py`. Only in
    a source checkout (an editable install, `setup.py` beside the packages): an installed wheel
    holds the sources it was compiled from, whatever the times its files were written at."""
    stale = []
    for package in COMPILED_PACKAGES:
        directory = package_directory(package)
        checkout = directory.parents[package.count(".")]
        if (checkout / "setup.py").exists():
            stale += [f"{package.replace('.', '/')}/{name}" for name in stale_modules(directory)]
    return stale


def runs_compiled() -> bool:
    """Every compiled package has its compiled modules installed."""
    return all(compiled_modules(package_directory(p)) for p in COMPILED_PACKAGES)


def warn_if_not_compiled(log: logging.Logger) -> None:
    """At a service's start: say when it runs sources older than their compiled modules, or
    runs interpreted."""
    if stale := stale_sources():
        log.warning("sources newer than their compiled modules: %s (./dev install)", stale)
    elif not runs_compiled():
        log.warning("the pure cores run interpreted (built with LOYALTY_PURE_PYTHON=1?)")

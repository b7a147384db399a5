"""Compiles the pure cores, the points engine (`processors/engine`), the ledger's planner
(`ledger/core`) and the backtest's replay (`evidence/core`), to C with mypyc when the package is
built, in one group: the replay calls the engine natively; everything else is in
pyproject.toml. All are plain, strictly typed Python that mypyc builds unchanged: the engine
decides about 1.6x faster compiled, and the ledger writer books about 12 % more per second
(README, "Measured"); the replay about 1.2x (bench/RESULTS.md, session 10). An editable
install (`./dev install`) builds them in place.

`LOYALTY_PURE_PYTHON=1` builds without compiling: the same code then runs interpreted.
"""

import os
from pathlib import Path

from setuptools import setup

COMPILED = ("processors/engine", "ledger/core", "evidence/core")


def _compiled_extensions() -> list[object]:
    if os.environ.get("LOYALTY_PURE_PYTHON") == "1":
        return []
    from mypyc.build import mypycify

    sources = sorted(str(path) for package in COMPILED for path in Path(package).glob("*.py"))
    return list(mypycify(sources, opt_level="3", group_name="loyalty_cores"))


setup(ext_modules=_compiled_extensions())

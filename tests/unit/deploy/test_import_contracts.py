"""Issue 14 item 2: the import contracts the issue lists are in pyproject's import-linter
configuration, each is kept by the code as it is, and each fails once an import it forbids is
added to the real import graph: for every source module and every forbidden module it names
(independence contracts: every ordered pair), so an entry that protects nothing shows up here."""

import copy
import importlib.util
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import grimp
import pytest
from importlinter.application.use_cases import read_user_options
from importlinter.application.user_options import UserOptions
from importlinter.configuration import configure
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.independence import IndependenceContract
from importlinter.domain.contract import Contract

PYPROJECT = Path(__file__).parents[3] / "pyproject.toml"
IO_LIBRARIES = {"asyncpg", "aiokafka", "faust", "httpx", "fastapi", "psycopg", "yoyo"}
PROJECT = {"gateway", "processors", "ledger", "runtime", "deploy", "scheduler", "evidence"}
VENDOR_APIS = {"gateway.partner", "gateway.triggers", "gateway.myrewards", "gateway.kwegg"}


@cache
def _options() -> UserOptions:
    """The configuration as lint-imports reads it (its own reader: values as it sees them)."""
    configure()
    return read_user_options(str(PYPROJECT))


def _contracts() -> list[dict[str, Any]]:
    return list(_options().contracts_options)


@cache
def _graph() -> grimp.ImportGraph:
    session = _options().session_options
    return grimp.build_graph(
        *session["root_packages"],
        include_external_packages=session.get("include_external_packages") == "True",
        cache_dir=None,
    )


def _contract(options: dict[str, Any]) -> Contract:
    fields = {k: v for k, v in options.items() if k not in {"name", "type"}}
    kind = {"forbidden": ForbiddenContract, "independence": IndependenceContract}[options["type"]]
    return kind(options["name"], _options().session_options, fields)


def _kept(options: dict[str, Any], extra_import: tuple[str, str] | None = None) -> bool:
    graph = copy.deepcopy(_graph())
    if extra_import is not None:
        graph.add_import(importer=extra_import[0], imported=extra_import[1])
    return bool(_contract(options).check(graph, verbose=False).kept)


def _a_module_of(expression: str, ignored: set[str]) -> str:
    """A real module the expression names (`ledger.*` → one child, not one an ignore allows)."""
    if not expression.endswith("*"):
        return expression
    parent = expression.rstrip("*").rstrip(".")
    return sorted(_graph().find_children(parent) - ignored)[0]


def _violations(options: dict[str, Any]) -> Iterator[tuple[str, str]]:
    if options["type"] == "independence":
        modules = options["modules"]
        yield from ((a, b) for a in modules for b in modules if a != b)
        return
    ignored = {line.split("->")[1].strip() for line in options.get("ignore_imports", ())}
    for source in options["source_modules"]:
        for forbidden in options["forbidden_modules"]:
            target = _a_module_of(forbidden, ignored)
            if (
                target == source
                or target.startswith(f"{source}.")
                or source.startswith(f"{target}.")
            ):
                continue  # import-linter skips overlapping pairs (the package's own modules)
            yield source, target


def _named(fragment: str) -> dict[str, Any]:
    (found,) = [c for c in _contracts() if fragment in c["name"]]
    return found


def test_every_contract_the_issue_lists_is_configured() -> None:
    cores = _named("pure cores")
    assert set(cores["source_modules"]) == {"processors.engine", "ledger.core"}
    assert IO_LIBRARIES | {"processors.*", "ledger.*", "gateway"} <= set(cores["forbidden_modules"])
    assert set(_named("wire contracts")["forbidden_modules"]) >= PROJECT
    reads = _named("gateway reads the ledger only through")
    assert (reads["source_modules"], reads["forbidden_modules"]) == (["gateway"], ["ledger.*"])
    assert reads["ignore_imports"] == ["gateway.** -> ledger.reads"]
    processors = _named("gateway does not import the processors")
    assert (processors["source_modules"], processors["forbidden_modules"]) == (
        ["gateway"],
        ["processors"],
    )
    assert set(_named("vendor APIs do not import each other")["modules"]) >= VENDOR_APIS
    deploy = _named("import deploy only from their entry points")
    assert {"gateway", "processors", "ledger"} <= set(deploy["source_modules"])


@pytest.mark.parametrize("options", _contracts(), ids=lambda options: options["name"][:60])
def test_a_contract_is_kept_and_each_import_it_forbids_breaks_it(options: dict[str, Any]) -> None:
    assert _kept(options), options["name"]
    violations = list(_violations(options))
    assert violations, options["name"]
    for violation in violations:
        assert not _kept(options, violation), violation


def _installed(top: str) -> bool:
    # Imported already (faust leaves its __spec__ None, which find_spec refuses), or findable.
    return top in sys.modules or importlib.util.find_spec(top) is not None


def test_every_forbidden_library_is_one_that_is_installed() -> None:
    """A misspelt library would be forbidden in vain: nothing could ever import it."""
    roots = set(_options().session_options["root_packages"])
    for options in _contracts():
        for name in options.get("forbidden_modules", ()):
            top = name.split(".")[0]
            assert top in roots or _installed(top), name

"""`./dev graph`: the imports between the project's top-level packages (and, with `--within
PACKAGE`, between that package's subpackages and modules), counted from the code by grimp,
the library import-linter checks the contracts with."""

import argparse
from collections import Counter

import grimp

PACKAGES = (
    "gateway",
    "processors",
    "ledger",
    "schemas",
    "runtime",
    "deploy",
    "evidence",
    "scheduler",
)


def edges(graph: grimp.ImportGraph, depth: int, within: str | None) -> Counter[tuple[str, str]]:
    """Imports between modules cut to `depth` dotted parts, counted; only inside `within`."""
    counted: Counter[tuple[str, str]] = Counter()
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            if within and not (importer.startswith(within) and imported.startswith(within)):
                continue
            a, b = _cut(importer, depth), _cut(imported, depth)
            if a != b:
                counted[(a, b)] += 1
    return counted


def _cut(module: str, depth: int) -> str:
    return ".".join(module.split(".")[:depth])


def main() -> None:
    parser = argparse.ArgumentParser(prog="./dev graph", description=__doc__)
    parser.add_argument("--within", help="a package whose own parts to show, e.g. gateway")
    arguments = parser.parse_args()
    graph = grimp.build_graph(*PACKAGES)
    depth = 1 if arguments.within is None else arguments.within.count(".") + 2
    for (importer, imported), count in sorted(edges(graph, depth, arguments.within).items()):
        print(f"{importer:<32} -> {imported:<32} {count:>4} imports")


if __name__ == "__main__":
    main()

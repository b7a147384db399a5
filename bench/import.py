"""`python -m bench.import`: the import benchmark, `bench.import_balances` (a module cannot be
imported by the name `import`, a keyword, but `python -m` runs it)."""

from bench.import_balances import main

main()

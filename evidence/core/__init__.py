"""The replay's pure core: the two arms, their totals and the sharing of decisions between them
(`replay`, `apart`). Compiled with mypyc like the engine it calls (setup.py): a replay's own
Python cost about as much as the engine's decisions. No I/O and no clock: archived events come
in as arguments (`evidence.replaying` reads them)."""

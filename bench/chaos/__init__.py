"""The chaos run (`python -m bench.chaos`): the whole system under load while its processes are
killed, checked from the outside afterwards.

It runs on Kafka and Postgres of its own (started in a temporary state directory on free ports,
`LOYALTY_LOCAL_STATE_DIR`), never on the shared ones: `__main__` makes the directory, runs
`bench.chaos.run` with it and, whatever happened, kills what the run left behind, by the pids in
the directory's pid files. Modules: `programme` (what is configured), `workload` (the events,
seeded), `system` (the private servers and services, and the faults done to them), `faults`
(when), `load` (the clients), `checks` (what must hold afterwards)."""

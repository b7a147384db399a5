"""Runs the whole system on one machine without Docker: Kafka from Maven jars, Postgres from
Debian's packages, the services as background processes, and Prometheus (Debian's package)
scraping them.

The same functions start the servers for the test suite and the benchmarks, so a test talks to
exactly what `./dev up` runs."""

"""What every process of the system shares at run time, below the services and beside the wire
contracts: garbage-collector tuning, the compiled cores' check, Kafka topic metadata and the
configuration feed. It imports `schemas` and libraries, nothing else of the project, so any
service module may use it (deploy/ is for running the system, and only entry points read it)."""

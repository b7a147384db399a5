"""`loyalty-scheduler`: time-driven work enters the pipeline as commands stamped with their time.

For every programme and every local day, in order, the scheduler emits the day's lifecycle
commands (`schemas.ledger.LifecycleCommand`, idempotent by their ids `expire:{programme}:{day}`)
on ledger-commands.v1, and records in Postgres (`scheduler_days`) the last day it emitted, once
Kafka holds its commands. A restart, a second instance or a replay emits a day again at worst,
which the ledger recognises as a repeat; a day is never skipped: days missed while it was down
are emitted in order when it comes back. Nothing downstream reads a clock: the commands carry
their day and the instant it began.
"""

"""One record in, one result out: decode, validate, decide. No I/O, so the agent stays three lines
and this step is unit-tested without Kafka. The step itself is compiled with the engine
(`processors.engine.intake`); these are its names for the processors."""

from processors.engine.intake import (
    OCCURRED_AT_GRACE_S,
    PRODUCER,
    Catalog,
    DeadLetterReason,
    Decided,
    Handled,
    NeedsAmounts,
    Record,
    dead_letter,
    handle,
    out_of_bounds,
    record_of,
)

__all__ = [
    "OCCURRED_AT_GRACE_S",
    "PRODUCER",
    "Catalog",
    "DeadLetterReason",
    "Decided",
    "Handled",
    "NeedsAmounts",
    "Record",
    "dead_letter",
    "handle",
    "out_of_bounds",
    "record_of",
]

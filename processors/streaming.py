"""What faust needs to see while a batch is handled outside its per-record iteration."""

import weakref
from collections.abc import Iterator
from contextlib import contextmanager

import faust

# A table write goes to the changelog partition of the event being processed, which faust
# reads from this context variable. Its stream sets it per record; in a batch we set it.
from faust.streams import _current_event


@contextmanager
def processing(event: faust.EventT[bytes]) -> Iterator[None]:
    """Table writes inside go to `event`'s partition, as they would in faust's own iteration:
    the changelog partition must be the event's, whatever partitioner its producer used."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)

"""Process-wide settings of the writer's Python runtime, applied once by its entry point."""

import gc

# A batch of thousands of commands allocates hundreds of thousands of short-lived objects; with
# CPython's default (700, 10, 10) the cyclic collector runs hundreds of times per batch and
# repeatedly walks every object that survives, which measured as half of the decoding time.
# Almost all of these objects are freed by reference counting, so collecting rarely loses nothing.
GC_THRESHOLDS = (100_000, 50, 100)


def tune_garbage_collector() -> None:
    """Freeze what startup allocated (imports, settings, pools) out of every later collection,
    and collect young objects far less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)

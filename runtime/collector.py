"""Process-wide settings of a service's Python runtime, applied once by its entry point."""

import gc


def tune_garbage_collector(thresholds: tuple[int, int, int]) -> None:
    """Freeze what start-up allocated (imports, settings, pools, apps) out of every later
    collection, and collect at `thresholds` (each service says why its own)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)

"""The gateway's garbage-collector thresholds (`runtime.collector.tune_garbage_collector`)."""

# With CPython's default (700, 10, 10) a full collection walked everything the app built at
# start-up (FastAPI's routes and models, pydantic's validators, the pools): 40 to 65 ms with
# every request in flight stalled, a few times a minute at 500 requests/s (`python -m
# bench.gateway`, timed with gc.callbacks). Start-up's objects are frozen out of collections,
# and the young generation is collected per 50,000 allocations rather than 700: requests free
# nearly all they allocate by reference counting, so collecting more often found little.
GC_THRESHOLDS = (50_000, 20, 100)

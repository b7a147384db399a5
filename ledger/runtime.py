"""The writer's garbage-collector thresholds (`runtime.collector.tune_garbage_collector`)."""

# A batch of thousands of commands allocates hundreds of thousands of short-lived objects; with
# CPython's default (700, 10, 10) the cyclic collector runs hundreds of times per batch and
# repeatedly walks every object that survives, which measured as half of the decoding time.
# Almost all of these objects are freed by reference counting, so collecting rarely loses nothing.
# The young generation counts objects allocated and not yet freed: with a batch being booked and
# the next one decoded, several hundred thousand are alive at once, so a threshold of 100,000 still
# meant a collection per batch (a sixth of the writer's CPU, all of it finding nothing to free).
# At a million, collections come only when garbage does accumulate.
GC_THRESHOLDS = (1_000_000, 20, 100)

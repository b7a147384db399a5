"""The worker's garbage-collector thresholds (`runtime.collector.tune_garbage_collector`)."""

# Every event allocates a few hundred short-lived objects, nearly all freed by reference
# counting: with CPython's default (700, 10, 10) the cyclic collector runs every few events and
# its older generations walk faust's and aiokafka's long-lived objects again and again.
# Measured with `python -m bench.processors`: 297 µs of worker CPU per event with the defaults,
# 260 with these.
GC_THRESHOLDS = (100_000, 50, 1_000)

"""The webhooks process's garbage-collector thresholds (runtime.collector)."""

# Every delivery allocates a few thousand short-lived objects (aiohttp's request and response,
# asyncpg's records, the JSON body), nearly all freed by reference counting. The
# gateway's reasoning holds here too: start-up's objects (httpx, asyncpg, pydantic) are frozen
# out of collections, and the young generation is collected per 50,000 allocations rather than
# 700, so 100 posts in flight are not interrupted by collections that find little.
GC_THRESHOLDS = (50_000, 20, 100)

"""The mgPass partner API (seed 000): publish events with an API key, read their outcomes, a
user's balance and transactions."""

"""Stateful stream processors on faust: decode events, keep each user's state in a changelogged
table, ask the pure engine (`processors.engine`) for a decision, emit ledger commands."""

"""Webhooks: partners' notifications of points awarded, deducted and events rejected, delivered
at least once from the outbox the ledger fills (deploy/migrations/0020_webhooks.sql)."""

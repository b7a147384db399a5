"""Programme administration: store configuration snapshots in Postgres, publish them on
`config.v1`, and issue partner API keys."""

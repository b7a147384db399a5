"""The HTTP ingest gateway: authenticates partners, validates events, writes them to Kafka, and
serves reads (balances, transactions, event outcomes) from the ledger."""

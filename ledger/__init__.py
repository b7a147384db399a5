"""The ledger writer: books ledger-commands.v1 into a double-entry, append-only Postgres ledger."""

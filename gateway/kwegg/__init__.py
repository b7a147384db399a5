"""Kwegg API (seed 003): tenants log their users in for access tokens, read balances and
transactions, register event occurrences and redeem offers. The routes are in
`gateway.kwegg.routes`; this package holds what they stand on."""

"""MyRewards API (seed 002): its authentication, bodies (JSON or HTML form), users, groups,
registration questions, points transactions and performance data, scoped to the key's programme."""

"""MyRewards API (seed 002): programme-scoped keys (`Authorization: Token token=...`), users,
user groups, registration questions, points transactions and performance data."""

from fastapi import APIRouter

router = APIRouter(tags=["MyRewards"])

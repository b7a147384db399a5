"""Kwegg API (seed 003): tenant user login with access tokens, balance, event occurrences,
transactions and offers."""

from fastapi import APIRouter

router = APIRouter(tags=["Kwegg"])

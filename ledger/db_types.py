"""Connection types: a plain asyncpg connection, or one acquired from a pool."""

from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

Connection: TypeAlias = asyncpg.Connection | PoolConnectionProxy
Executor: TypeAlias = asyncpg.Connection | PoolConnectionProxy | asyncpg.Pool

"""A partition of ``SMALL`` ordered rows most tests stream."""

from __future__ import annotations

import pytest_asyncio
from aiocql import AsyncSession

SMALL = 250


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def rows(cql: AsyncSession) -> int:
    """Partitions 0..9 of ``series`` each hold clustering rows 0..SMALL-1 (v = "p:c")."""
    await cql.execute(
        "CREATE TABLE IF NOT EXISTS series (p int, c int, v text, PRIMARY KEY (p, c))",
        timeout=60,
    )
    insert = await cql.prepare("INSERT INTO series (p, c, v) VALUES (?, ?, ?)")
    insert.is_idempotent = True  # a timeout under load is retried, not failed
    await cql.execute_concurrent(
        [(insert, (p, c, f"{p}:{c}")) for p in range(10) for c in range(SMALL)], concurrency=64
    )
    return SMALL

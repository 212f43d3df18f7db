"""Fresh sessions with their own limits, the suite tables, and a slow query to cancel."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest
from aiocql import AsyncCluster, AsyncSession
from cassandra.query import SimpleStatement

from cqlsuites.kit import DDL_TIMEOUT


@pytest.fixture(scope="session")
async def slow_query(cql: AsyncSession, suite_params: Mapping[str, Any]) -> SimpleStatement:
    """A read of one whole partition of ``slowRows`` rows in a single page: tens of ms."""
    rows = int(suite_params["slowRows"])
    await cql.execute(
        "CREATE TABLE IF NOT EXISTS heavy (p int, c int, v text, PRIMARY KEY (p, c))",
        timeout=DDL_TIMEOUT,
    )
    await cql.execute(
        "CREATE TABLE IF NOT EXISTS kv (k int PRIMARY KEY, v text)", timeout=DDL_TIMEOUT
    )
    await cql.execute(
        "CREATE TABLE IF NOT EXISTS copies (k int PRIMARY KEY, v text)", timeout=DDL_TIMEOUT
    )
    insert = await cql.prepare("INSERT INTO heavy (p, c, v) VALUES (0, ?, ?)")
    await cql.execute_concurrent([(insert, (c, "x" * 100)) for c in range(rows)], concurrency=64)
    return SimpleStatement("SELECT * FROM heavy WHERE p = 0", fetch_size=rows + 1)


@pytest.fixture
async def fresh(
    cql_cluster: AsyncCluster, keyspace: str, slow_query: SimpleStatement
) -> AsyncIterator[AsyncSession]:
    """A new session (counters from zero, at most 8 requests in flight)."""
    session = await cql_cluster.connect(keyspace, max_in_flight=8)
    try:
        yield session
    finally:
        await session.close()

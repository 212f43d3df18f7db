"""The suite's tables, created once in the suite keyspace."""

from __future__ import annotations

import pytest
from aiocql import AsyncSession

DDL_TIMEOUT = 60.0
TABLES = (
    "CREATE TABLE IF NOT EXISTS kv (k int PRIMARY KEY, v text, n int)",
    "CREATE TABLE IF NOT EXISTS rows (p int, c int, v text, PRIMARY KEY (p, c))",
    "CREATE TABLE IF NOT EXISTS statics (p int, c int, shared text STATIC, v text, "
    "PRIMARY KEY (p, c))",
    "CREATE TABLE IF NOT EXISTS people (id int PRIMARY KEY, city text, age int, team text)",
    "CREATE INDEX IF NOT EXISTS people_city ON people (city)",
    "CREATE INDEX IF NOT EXISTS people_age ON people (age) USING 'sai'",
    "CREATE TABLE IF NOT EXISTS sales (shop int, day int, amount int, PRIMARY KEY (shop, day))",
    "CREATE TABLE IF NOT EXISTS events (sensor int, at timestamp, reading double, "
    "PRIMARY KEY (sensor, at)) WITH CLUSTERING ORDER BY (at DESC) AND default_time_to_live = 600",
)


@pytest.fixture(scope="session")
async def tables(cql: AsyncSession) -> None:
    # The indexes exist before any row, so no test queries an index still being built.
    for ddl in TABLES:
        await cql.execute(ddl, timeout=DDL_TIMEOUT)

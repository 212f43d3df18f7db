"""The suite's tables (created once, in the suite keyspace) and its default consistency."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from aiocql import AsyncCluster, AsyncSession
from cassandra import ConsistencyLevel

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


@pytest.fixture(scope="session", autouse=True)
def default_consistency(cql_cluster: AsyncCluster, suite_params: Mapping[str, Any]) -> None:
    """Every request at the ``consistency`` param, so a read sees the write before it."""
    level = ConsistencyLevel.name_to_value[suite_params["consistency"]]
    cql_cluster.driver_cluster.profile_manager.default.consistency_level = level


@pytest.fixture(scope="session")
async def tables(cql: AsyncSession) -> None:
    # The indexes exist before any row, so no test queries an index still being built.
    for ddl in TABLES:
        await cql.execute(ddl, timeout=DDL_TIMEOUT)

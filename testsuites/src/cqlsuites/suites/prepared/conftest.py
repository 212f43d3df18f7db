"""The suite's tables, and a keyspace with one local replica for the routing tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiocql import AsyncSession

from cqlsuites.connect import keyspace_cql
from cqlsuites.env import SuiteEnv

DDL_TIMEOUT = 60.0


@pytest.fixture(scope="session")
async def tables(cql: AsyncSession) -> None:
    for ddl in (
        "CREATE TABLE IF NOT EXISTS kv (k int PRIMARY KEY, a int, b text)",
        "CREATE TABLE IF NOT EXISTS wide (p int, c int, v text, PRIMARY KEY (p, c))",
        "CREATE TABLE IF NOT EXISTS big (k int PRIMARY KEY, data blob, body text)",
    ):
        await cql.execute(ddl, timeout=DDL_TIMEOUT)


@pytest.fixture(scope="session")
async def single_replica(
    cql: AsyncSession, keyspace: str, suite_env: SuiteEnv
) -> AsyncIterator[str]:
    """A keyspace with RF 1 in the local DC, so each partition has exactly one owner there.

    With RF equal to the local node count every node owns every partition and routing could
    not be told from round robin.
    """
    local = suite_env.local_dc or "datacenter1"
    name = f"{keyspace[:44]}_rf1"  # at most 48 characters, never the suite keyspace
    await cql.execute(f"DROP KEYSPACE IF EXISTS {name}", timeout=DDL_TIMEOUT)
    await cql.execute(keyspace_cql(name, {local: 1}), timeout=DDL_TIMEOUT)
    await cql.execute(f"CREATE TABLE {name}.one (k int PRIMARY KEY, v int)", timeout=DDL_TIMEOUT)
    await cql.execute(
        f"CREATE TABLE {name}.two (a int, b text, v int, PRIMARY KEY ((a, b)))",
        timeout=DDL_TIMEOUT,
    )
    yield name
    await cql.execute(f"DROP KEYSPACE IF EXISTS {name}", timeout=DDL_TIMEOUT)

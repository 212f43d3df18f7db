"""The suite tables, the topology's replicas, and a narrow keyspace (RF 1) for Unavailable."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiocql import AsyncCluster, AsyncSession

from cqlsuites.connect import keyspace_cql, replication_for
from cqlsuites.env import SuiteEnv

from .levels import Replicas

DDL_TIMEOUT = 60.0


@pytest.fixture(scope="session")
def replicas(suite_env: SuiteEnv, cql_cluster: AsyncCluster) -> Replicas:
    per_dc = replication_for(suite_env, cql_cluster)
    return Replicas(per_dc, suite_env.local_dc or next(iter(per_dc)))


@pytest.fixture(scope="session")
async def table(cql: AsyncSession) -> str:
    await cql.execute(
        "CREATE TABLE IF NOT EXISTS kv (k int PRIMARY KEY, v text)", timeout=DDL_TIMEOUT
    )
    return "kv"


@pytest.fixture(scope="session")
async def narrow(cql: AsyncSession, keyspace: str, replicas: Replicas) -> AsyncIterator[str]:
    """A second keyspace with one replica in the local DC, so TWO and THREE cannot be met."""
    name = f"{keyspace[:41]}_narrow"  # at most 48 characters, never the suite keyspace
    await cql.execute(f"DROP KEYSPACE IF EXISTS {name}", timeout=DDL_TIMEOUT)
    await cql.execute(keyspace_cql(name, {replicas.local_dc: 1}), timeout=DDL_TIMEOUT)
    await cql.execute(f"CREATE TABLE {name}.kv (k int PRIMARY KEY, v text)", timeout=DDL_TIMEOUT)
    yield name
    await cql.execute(f"DROP KEYSPACE IF EXISTS {name}", timeout=DDL_TIMEOUT)

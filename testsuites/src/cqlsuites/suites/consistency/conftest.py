"""The suite tables, the topology's replicas, and a narrow keyspace (RF 1) for Unavailable."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiocql import AsyncCluster, AsyncSession

from cqlsuites import kit
from cqlsuites.connect import replication_for
from cqlsuites.env import SuiteEnv

from .levels import Replicas


@pytest.fixture(scope="session")
def replicas(suite_env: SuiteEnv, cql_cluster: AsyncCluster) -> Replicas:
    per_dc = replication_for(suite_env, cql_cluster)
    return Replicas(per_dc, suite_env.local_dc or next(iter(per_dc)))


@pytest.fixture(scope="session")
async def table(cql: AsyncSession) -> str:
    await kit.create_tables(cql, "kv (k int PRIMARY KEY, v text)")
    return "kv"


@pytest.fixture(scope="session")
async def narrow(cql: AsyncSession, keyspace: str, replicas: Replicas) -> AsyncIterator[str]:
    """A second keyspace with one replica in the local DC, so TWO and THREE cannot be met."""
    name = f"{keyspace[:41]}_narrow"  # at most 48 characters, never the suite keyspace
    async with kit.side_keyspace(
        cql, name, {replicas.local_dc: 1}, "kv (k int PRIMARY KEY, v text)"
    ) as narrow:
        yield narrow

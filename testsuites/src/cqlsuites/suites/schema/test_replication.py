"""Changing a keyspace's replication: every node and the driver see it, data stays readable."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiocql import AsyncCluster, AsyncSession
from cassandra import ConsistencyLevel

from cqlsuites.connect import keyspace_cql
from cqlsuites.env import SuiteEnv

from .agreement import ddl, per_node


@pytest.fixture
async def movable(cql: AsyncSession, keyspace: str) -> AsyncIterator[str]:
    name = f"{keyspace[:42]}_moved"  # at most 48 characters, never the suite keyspace
    await cql.execute(f"DROP KEYSPACE IF EXISTS {name}", timeout=60)
    yield name
    await cql.execute(f"DROP KEYSPACE IF EXISTS {name}", timeout=60)


async def test_keyspace_replication_change(
    cql: AsyncSession, cql_cluster: AsyncCluster, suite_env: SuiteEnv, movable: str
) -> None:
    local = suite_env.local_dc or "datacenter1"
    local_nodes = sum(1 for h in cql_cluster.metadata.all_hosts() if h.datacenter == local)
    # Up to the local node count; on a single node the factor goes up anyway (Cassandra only
    # warns), which still changes what every node stores as the keyspace's definition.
    target = max(2, min(3, local_nodes))
    await ddl(cql, keyspace_cql(movable, {local: 1}))
    await ddl(cql, f"CREATE TABLE {movable}.kv (k int PRIMARY KEY, v text)")
    insert = await cql.prepare(f"INSERT INTO {movable}.kv (k, v) VALUES (?, ?)")
    await cql.execute_concurrent([(insert, (k, str(k))) for k in range(50)])

    result = await ddl(
        cql,
        f"ALTER KEYSPACE {movable} WITH replication = "
        f"{{'class': 'NetworkTopologyStrategy', '{local}': {target}}}",
    )
    if target > local_nodes:
        assert any("higher than the number of nodes" in w for w in result.warnings or []), (
            f"RF {target} on {local_nodes} node(s) drew no warning: {result.warnings}"
        )
    stored = await per_node(
        cql,
        "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = %s",
        movable,
    )
    for node, rows in stored.items():
        assert rows[0].replication.get(local) == str(target), f"{node} stores {rows[0].replication}"
    strategy = cql_cluster.metadata.keyspaces[movable].replication_strategy
    seen = {dc: rf.all_replicas for dc, rf in strategy.dc_replication_factors_info.items()}
    assert seen == {local: target}, f"the driver's metadata still says {seen}"
    # New replicas hold nothing until a repair; a read at ALL reaches the original one too
    # (with more replicas than nodes, the one node that exists is the original).
    level = ConsistencyLevel.ALL if target <= local_nodes else ConsistencyLevel.ONE
    rows = await cql.execute_all(f"SELECT k FROM {movable}.kv", consistency_level=level)
    assert sorted(r.k for r in rows) == list(range(50)), "data written before the change is lost"

"""The suite keyspace exists with exactly the replication the run asked for."""

from __future__ import annotations

from aiocql import AsyncCluster, AsyncSession

from cqlsuites.connect import replication_for
from cqlsuites.env import SuiteEnv


async def test_keyspace_uses_requested_replication(
    cql: AsyncSession, keyspace: str, suite_env: SuiteEnv, cql_cluster: AsyncCluster
) -> None:
    row = (
        await cql.execute(
            "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = %s",
            (keyspace,),
        )
    ).one()
    assert row is not None, f"keyspace {keyspace} does not exist"
    replication = dict(row.replication)
    strategy = replication.pop("class")
    assert strategy.endswith("NetworkTopologyStrategy"), f"{keyspace} uses {strategy}"
    actual = {dc: int(rf) for dc, rf in replication.items()}
    assert actual == replication_for(suite_env, cql_cluster)

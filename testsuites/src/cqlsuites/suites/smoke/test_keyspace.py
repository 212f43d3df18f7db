"""The suite keyspace exists with exactly the replication the run asked for."""

from __future__ import annotations

from aiocql import AsyncCluster, AsyncSession

from cqlsuites import kit
from cqlsuites.connect import replication_for
from cqlsuites.env import SuiteEnv


async def test_keyspace_uses_requested_replication(
    cql: AsyncSession, keyspace: str, suite_env: SuiteEnv, cql_cluster: AsyncCluster
) -> None:
    replication = await kit.replication_of(cql, keyspace)
    assert replication is not None, f"keyspace {keyspace} does not exist"
    strategy = replication.pop("class")
    assert strategy.endswith("NetworkTopologyStrategy"), f"{keyspace} uses {strategy}"
    actual = {dc: int(rf) for dc, rf in replication.items()}
    assert actual == replication_for(suite_env, cql_cluster)

"""One instrumented session per datacenter, each coordinated by its own DC."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
from aiocql import AsyncCluster, AsyncSession

from cqlsuites import connect, kit
from cqlsuites.env import SuiteEnv
from cqlsuites.plugin import SuiteReporter


@pytest.fixture(scope="session")
def datacenters(suite_env: SuiteEnv, cql_cluster: AsyncCluster, cql: AsyncSession) -> list[str]:
    """The DCs, local first (as the connected driver sees them); fewer than two fails."""
    seen = sorted({h.datacenter for h in cql_cluster.metadata.all_hosts()})
    local = suite_env.local_dc or seen[0]
    if len(seen) < 2:
        pytest.fail(f"multi-dc needs at least 2 datacenters; the cluster has {len(seen)}: {seen}")
    return [local, *(dc for dc in seen if dc != local)]


@pytest.fixture(scope="session")
async def sessions(
    cql: AsyncSession,
    keyspace: str,
    datacenters: list[str],
    suite_env: SuiteEnv,
    cqlsuites_reporter: SuiteReporter,
) -> AsyncIterator[dict[str, AsyncSession]]:
    """A session per DC on the suite keyspace (the local one is ``cql``)."""
    clusters: list[AsyncCluster] = []
    found = {datacenters[0]: cql}
    try:
        for dc in datacenters[1:]:
            cluster = connect.new_cluster(dataclasses.replace(suite_env, local_dc=dc))
            clusters.append(cluster)
            session = await connect.connect(cluster, cqlsuites_reporter.stats)
            await session.set_keyspace(keyspace)
            found[dc] = session
        yield found
    finally:
        for cluster in clusters:
            await cluster.close()


@pytest.fixture(scope="session")
async def table(cql: AsyncSession) -> str:
    await kit.create_tables(cql, "kv (k text PRIMARY KEY, v int)")
    return "kv"


@pytest.fixture(scope="session")
async def first_dc_only(
    cql: AsyncSession, keyspace: str, datacenters: list[str]
) -> AsyncIterator[str]:
    """A keyspace replicated in the first DC only, with one row: remote for every other DC."""
    name = f"{keyspace[:40]}_onedc"
    async with kit.side_keyspace(
        cql, name, {datacenters[0]: 1}, "kv (k int PRIMARY KEY, v int)"
    ) as one_dc:
        await cql.execute(f"INSERT INTO {one_dc}.kv (k, v) VALUES (1, 1)")
        yield one_dc

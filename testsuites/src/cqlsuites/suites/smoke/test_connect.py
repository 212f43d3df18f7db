"""The suite reaches the cluster it was told about, and sees every declared node."""

from __future__ import annotations

from aiocql import AsyncCluster, AsyncSession

from cqlsuites.env import SuiteEnv


async def test_node_answers_cql(cql_session: AsyncSession) -> None:
    row = (await cql_session.execute("SELECT release_version FROM system.local")).one()
    assert row is not None, "system.local returned no row"
    assert row.release_version, "the node reported an empty release_version"


async def test_every_declared_node_is_known_and_up(
    cql_cluster: AsyncCluster, suite_env: SuiteEnv
) -> None:
    hosts = list(cql_cluster.metadata.all_hosts())
    seen: dict[str, int] = {}
    for host in hosts:
        assert host.is_up is not False, f"node {host.address} ({host.datacenter}) is down"
        seen[host.datacenter] = seen.get(host.datacenter, 0) + 1
    declared = {dc: t.nodes for dc, t in suite_env.topology.items()}
    if declared:
        assert seen == declared, f"cluster has nodes per DC {seen}, the run declared {declared}"
    else:
        assert hosts, "the driver knows no node at all"

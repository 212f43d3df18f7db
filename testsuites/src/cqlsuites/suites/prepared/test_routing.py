"""Token-aware routing: each prepared request is coordinated by a replica of its partition."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from aiocql import AsyncCluster, AsyncSession

from cqlsuites.env import SuiteEnv


@pytest.mark.parametrize("key", ["single-column", "composite"])
async def test_coordinator_owns_the_partition(
    cql: AsyncSession,
    cql_cluster: AsyncCluster,
    single_replica: str,
    suite_env: SuiteEnv,
    suite_params: Mapping[str, Any],
    key: str,
) -> None:
    local_dc = suite_env.local_dc or "datacenter1"
    local_nodes = [h for h in cql_cluster.metadata.all_hosts() if h.datacenter == local_dc]
    if len(local_nodes) < 2:
        pytest.skip(
            f"{local_dc} has {len(local_nodes)} node: it owns every partition, so token-aware "
            "routing cannot be told from any other"
        )
    if key == "single-column":
        statement = await cql.prepare(f"INSERT INTO {single_replica}.one (k, v) VALUES (?, ?)")
        values: list[tuple[Any, ...]] = [(k, k) for k in range(int(suite_params["routedKeys"]))]
    else:
        statement = await cql.prepare(
            f"INSERT INTO {single_replica}.two (a, b, v) VALUES (?, ?, ?)"
        )
        values = [(k, f"b{k}", k) for k in range(int(suite_params["routedKeys"]))]
    misrouted = []
    owners = set()
    for value in values:
        bound = statement.bind(value)
        replicas = cql_cluster.metadata.get_replicas(single_replica, bound.routing_key)
        assert len(replicas) == 1, f"RF 1 keyspace reports replicas {replicas} for {value}"
        coordinator = (await cql.execute(bound)).coordinator
        owners.add(replicas[0].address)
        if coordinator != replicas[0]:
            misrouted.append((value, coordinator.address, replicas[0].address))
    assert not misrouted, (
        f"{len(misrouted)}/{len(values)} requests coordinated by a non-replica "
        f"(value, coordinator, owner): {misrouted[:5]}"
    )
    assert len(owners) > 1, f"every key landed on {owners}: the check proved nothing"

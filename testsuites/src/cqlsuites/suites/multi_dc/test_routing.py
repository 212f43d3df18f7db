"""Each DC's session is served by its own DC; LOCAL_* levels count only local replicas."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from aiocql import AsyncSession
from cassandra import ConsistencyLevel, Unavailable
from cassandra.cluster import NoHostAvailable

CL = ConsistencyLevel


@pytest.mark.parametrize("which", [0, 1], ids=["first-dc", "second-dc"])
async def test_coordinator_is_in_the_local_dc(
    sessions: Mapping[str, AsyncSession],
    datacenters: list[str],
    table: str,
    suite_params: Mapping[str, Any],
    which: int,
) -> None:
    dc = datacenters[which]
    session = sessions[dc]
    read = await session.prepare(f"SELECT v FROM {table} WHERE k = ?")
    elsewhere = []
    for i in range(suite_params["routedQueries"]):
        result = await session.execute(read, (f"route-{i}",), consistency_level=CL.LOCAL_ONE)
        if result.coordinator is None or result.coordinator.datacenter != dc:
            elsewhere.append(str(result.coordinator))
    assert not elsewhere, f"a session local to {dc} was coordinated by {elsewhere}"


@pytest.mark.parametrize("level", ["LOCAL_ONE", "LOCAL_QUORUM"])
async def test_local_levels_ignore_remote_replicas(
    sessions: Mapping[str, AsyncSession], datacenters: list[str], first_dc_only: str, level: str
) -> None:
    # The second DC holds no replica of first_dc_only: a LOCAL_* level there has none to use,
    # however many the first DC has.
    session = sessions[datacenters[1]]
    # The driver's retry policy tries the next host on Unavailable; with none left in the
    # local DC it raises NoHostAvailable holding the server's Unavailable.
    # NoHostAvailable naming no host means the driver had no local host up to try at that
    # moment (seen once on a loaded 2-core machine), which says nothing of routing: ask again.
    for _ in range(5):
        with pytest.raises((Unavailable, NoHostAvailable)) as caught:
            await session.execute(
                f"SELECT v FROM {first_dc_only}.kv WHERE k = 1",
                consistency_level=CL.name_to_value[level],
            )
        by_host = getattr(caught.value, "errors", None)
        if not isinstance(caught.value, NoHostAvailable) or by_host:
            break
        await asyncio.sleep(1)
    errors = [caught.value, *(by_host.values() if isinstance(by_host, Mapping) else [])]
    error = next((e for e in errors if isinstance(e, Unavailable)), None)
    assert error is not None, f"{level} in {datacenters[1]} failed, but not Unavailable: {errors}"
    assert (error.required_replicas, error.alive_replicas) == (1, 0), (
        f"{level} in {datacenters[1]}: Unavailable says required {error.required_replicas}, "
        f"alive {error.alive_replicas}; expected 1 required, 0 alive (no local replica)"
    )


@pytest.mark.parametrize("level", ["ONE", "QUORUM"])
async def test_other_levels_use_remote_replicas(
    sessions: Mapping[str, AsyncSession], datacenters: list[str], first_dc_only: str, level: str
) -> None:
    session = sessions[datacenters[1]]
    row = (
        await session.execute(
            f"SELECT v FROM {first_dc_only}.kv WHERE k = 1",
            consistency_level=CL.name_to_value[level],
        )
    ).one()
    assert row is not None, f"{level} from {datacenters[1]} did not read the first DC's replica"
    assert row.v == 1


async def test_schema_agrees_across_dcs(cql: AsyncSession, table: str) -> None:
    # other suites of the run change their own schema meanwhile, and a remote DC applies a
    # change a moment later: agreement is asserted as convergence within a bounded wait
    versions: dict[str, object] = {}
    peers: list[Any] = []
    for _ in range(60):  # 30 s at most
        local = (await cql.execute("SELECT schema_version, data_center FROM system.local")).one()
        peers = (
            await cql.execute("SELECT peer, schema_version, data_center FROM system.peers")
        ).all()
        assert local is not None
        versions = {f"local ({local.data_center})": local.schema_version}
        versions |= {f"{p.peer} ({p.data_center})": p.schema_version for p in peers}
        if len(set(versions.values())) == 1:
            break
        await asyncio.sleep(0.5)
    assert len(set(versions.values())) == 1, f"schema versions differ after 30 s: {versions}"
    assert peers, "the node sees no peer: a multi-DC cluster has at least two nodes"

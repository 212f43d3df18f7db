"""Read-your-writes at (LOCAL_)QUORUM, and DC-aware routing of every request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from aiocql import AsyncSession
from cassandra.query import SimpleStatement

from .levels import Replicas, level

pytestmark = pytest.mark.usefixtures("table")


@pytest.mark.parametrize("name", ["QUORUM", "LOCAL_QUORUM"])
async def test_read_your_writes(
    cql: AsyncSession, suite_params: Mapping[str, Any], name: str
) -> None:
    keys = int(suite_params["keys"])
    base = 3_000_000 + (0 if name == "QUORUM" else keys * 10)
    write = await cql.prepare("INSERT INTO kv (k, v) VALUES (?, ?)")
    read = await cql.prepare("SELECT v FROM kv WHERE k = ?")
    stale = []
    for i in range(keys):
        key = base + i % 5
        await cql.execute(write, (key, f"v{i}"), consistency_level=level(name))
        row = (await cql.execute(read, (key,), consistency_level=level(name))).one()
        if row is None or row.v != f"v{i}":
            stale.append((i, key, row and row.v))
    assert not stale, f"{name} reads missed their own {name} writes (i, key, seen): {stale[:5]}"


async def test_coordinator_is_in_the_local_dc(
    cql: AsyncSession, replicas: Replicas, suite_params: Mapping[str, Any]
) -> None:
    if len(replicas.per_dc) < 2:
        pytest.skip("one datacenter: every coordinator is local, DC-aware routing is untestable")
    queries = int(suite_params["routedQueries"])
    read = SimpleStatement("SELECT v FROM kv WHERE k = %s", consistency_level=level("LOCAL_ONE"))
    coordinators = [(await cql.execute(read, (k,))).coordinator for k in range(queries)]
    remote = {str(h.address) for h in coordinators if h.datacenter != replicas.local_dc}
    assert not remote, f"requests were coordinated outside {replicas.local_dc} by {sorted(remote)}"
    local = {str(h.address) for h in coordinators}
    assert local, "no coordinator reported"

"""aiocql when nodes die: every node down, and one node of three killed under QUORUM load.

The all-down case runs on a 1-node cluster of its own (so stopping it disturbs nobody); the
kill case uses the shared multi-DC cluster and always restarts the node it killed.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiocql import AsyncCluster, AsyncSession, IdempotentRetryPolicy
from cassandra import ConsistencyLevel, ReadTimeout, WriteTimeout
from cassandra.cluster import NoHostAvailable
from cassandra.query import BatchStatement
from cqltest.local import ClusterInfo, ClusterSpec, DatacenterSpec, LocalCluster

pytestmark = [pytest.mark.cassandra]

# A node going down is noticed through its closed connections, not a timer: "about a second".
DOWN_DEADLINE = 2.0


@pytest.fixture(scope="module")
def doomed(cassandra_root: Path) -> Iterator[tuple[LocalCluster, ClusterInfo]]:
    """A private 1-node cluster that a test stops for good."""
    spec = ClusterSpec(name="aiocql-down", datacenters=[DatacenterSpec("dc1", 1)])
    cluster = LocalCluster.create(spec, root=cassandra_root)
    try:
        yield cluster, cluster.start(timeout=180)
    finally:
        cluster.destroy()


async def elapsed_raising(kind: type[BaseException], awaitable: object) -> float:
    started = time.monotonic()
    with pytest.raises(kind):
        await awaitable  # type: ignore[misc]
    return time.monotonic() - started


@pytest.mark.timeout(300)
async def test_all_nodes_down_raises_no_host_available_fast(
    doomed: tuple[LocalCluster, ClusterInfo],
) -> None:
    local, info = doomed
    async with AsyncCluster(info.contact_points, port=info.port, local_dc="dc1") as cluster:
        session = await cluster.connect()
        select = await session.prepare("SELECT release_version FROM system.local")
        assert (await session.execute(select)).one() is not None

        await asyncio.to_thread(local.stop)

        assert await elapsed_raising(NoHostAvailable, session.execute(select)) < DOWN_DEADLINE
        assert await elapsed_raising(NoHostAvailable, stream_all(session)) < DOWN_DEADLINE
        batch = BatchStatement()
        batch.add("INSERT INTO system_auth.x (k) VALUES (1)")
        assert await elapsed_raising(NoHostAvailable, session.execute_batch(batch)) < DOWN_DEADLINE
        health = await session.check_host(info.contact_points[0])
        assert not health.up
        assert isinstance(health.error, NoHostAvailable)
        await session.close()

    # connecting to an address where nothing listens any more
    started = time.monotonic()
    async with AsyncCluster(info.contact_points, port=info.port) as nothing:
        with pytest.raises(NoHostAvailable):
            await nothing.connect(timeout=10)
    assert time.monotonic() - started < 5


async def stream_all(session: AsyncSession) -> None:
    async with session.stream("SELECT * FROM system.peers", page_size=10) as rows:
        async for _ in rows:
            pass


@pytest.mark.timeout(420)
async def test_node_killed_during_quorum_load(
    cluster_multi: tuple[LocalCluster, ClusterInfo],
) -> None:
    local, info = cluster_multi
    victim = info.datacenters["dc1"][1]
    outcomes: Counter[str] = Counter()
    after_kill: Counter[str] = Counter()
    killed = asyncio.Event()
    stop = asyncio.Event()

    async with AsyncCluster(
        info.contact_points,
        port=info.port,
        local_dc="dc1",
        retry_policy=IdempotentRetryPolicy(max_retries=1),
    ) as cluster:
        session = await cluster.connect()
        await session.execute(
            "CREATE KEYSPACE IF NOT EXISTS aiocql_quorum WITH replication = "
            "{'class': 'NetworkTopologyStrategy', 'dc1': 2, 'dc2': 1}",
            timeout=60,
        )
        await session.execute(
            "CREATE TABLE IF NOT EXISTS aiocql_quorum.kv (k int PRIMARY KEY, v int)", timeout=60
        )
        insert = await session.prepare("INSERT INTO aiocql_quorum.kv (k, v) VALUES (?, ?)")
        select = await session.prepare("SELECT v FROM aiocql_quorum.kv WHERE k = ?")
        for statement in (insert, select):
            statement.consistency_level = ConsistencyLevel.QUORUM
            statement.is_idempotent = True

        async def worker(w: int) -> None:
            i = 0
            while not stop.is_set():
                k = w * 1_000_000 + i
                i += 1
                for statement, params in ((insert, (k, i)), (select, (k,))):
                    try:
                        await session.execute(statement, params)
                        outcome = "ok"
                    except Exception as exc:
                        outcome = type(exc).__name__
                    outcomes[outcome] += 1
                    if killed.is_set():
                        after_kill[outcome] += 1

        workers = [asyncio.ensure_future(worker(w)) for w in range(32)]
        try:
            await asyncio.sleep(2)
            await asyncio.to_thread(local.kill_node, victim)
            killed.set()
            await asyncio.sleep(6)
            health = await session.check_host(victim)
            await asyncio.sleep(1)
        finally:
            stop.set()
            await asyncio.gather(*workers)
            try:
                await session.close()
            finally:
                await asyncio.to_thread(local.start_node, victim)

    assert not health.up, f"check_host still sees {victim} up: {health}"
    assert after_kill["ok"] > 100, after_kill
    # The retry policy's contract for idempotent statements: connection loss and overload
    # are retried on the next host; a server-side timeout with too few replicas answering is
    # rethrown. Nothing else may reach the caller.
    allowed = {"ok", ReadTimeout.__name__, WriteTimeout.__name__}
    assert set(outcomes) <= allowed, outcomes
    assert outcomes["ok"] / sum(outcomes.values()) > 0.99, outcomes

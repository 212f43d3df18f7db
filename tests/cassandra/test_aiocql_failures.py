"""aiocql when nodes die: every node down, and one node of three killed under QUORUM load.

The all-down case runs on a 1-node cluster of its own (so stopping it disturbs nobody); the
kill case uses the shared multi-DC cluster and always restarts the node it killed.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiocql import AsyncCluster, AsyncSession, IdempotentRetryPolicy, Timeouts
from cassandra import ConsistencyLevel, ReadTimeout, WriteTimeout
from cassandra.cluster import NoHostAvailable
from cassandra.policies import RetryPolicy, WhiteListRoundRobinPolicy, WriteType
from cassandra.query import BatchStatement, BatchType
from cqltest.local import ClusterInfo, LocalCluster

pytestmark = [pytest.mark.cassandra]

# A node going down is noticed through its closed connections, not a timer: "about a second".
DOWN_DEADLINE = 2.0


class OutOfProcessCluster:
    """A LocalCluster driven from child processes.

    Created, stopped and destroyed by short-lived ``python -c`` processes, its JVM is never a
    child of the pytest process: cqltest.local's liveness check trusts a node process it
    started itself without looking at the command line, so destroying a second cluster from
    the same process could also kill the session clusters other tests share.
    """

    def __init__(self, name: str, root: Path) -> None:
        self.name = name
        self.root = root

    def _run(self, code: str) -> str:
        result = subprocess.run(
            [sys.executable, "-c", "import json\nfrom cqltest.local import *\n" + code],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def _load(self) -> str:
        return f"LocalCluster.load({self.name!r}, root={str(self.root)!r})"

    def start(self) -> dict[str, Any]:
        spec = f"ClusterSpec(name={self.name!r}, datacenters=[DatacenterSpec('dc1', 1)])"
        create = f"LocalCluster.create({spec}, root={str(self.root)!r})"
        out = self._run(f"print(json.dumps({create}.start(timeout=180).to_dict()))")
        info: dict[str, Any] = json.loads(out)
        return info

    def stop(self) -> None:
        self._run(f"{self._load()}.stop()")

    def destroy(self) -> None:
        self._run(f"{self._load()}.destroy()")


@pytest.fixture(scope="module")
def doomed(cassandra_root: Path) -> Iterator[tuple[OutOfProcessCluster, dict[str, Any]]]:
    """A private 1-node cluster that a test stops for good."""
    cluster = OutOfProcessCluster("aiocql-down", cassandra_root)
    try:
        yield cluster, cluster.start()
    finally:
        cluster.destroy()


async def elapsed_raising(kind: type[BaseException], awaitable: object) -> float:
    started = time.monotonic()
    with pytest.raises(kind):
        await awaitable  # type: ignore[misc]
    return time.monotonic() - started


@pytest.mark.timeout(300)
async def test_all_nodes_down_raises_no_host_available_fast(
    doomed: tuple[OutOfProcessCluster, dict[str, Any]],
) -> None:
    local, info = doomed
    contact_points, port = info["contact_points"], info["port"]
    async with AsyncCluster(contact_points, port=port, local_dc="dc1") as cluster:
        session = await cluster.connect()
        select = await session.prepare("SELECT release_version FROM system.local")
        assert (await session.execute(select)).one() is not None

        await asyncio.to_thread(local.stop)

        assert await elapsed_raising(NoHostAvailable, session.execute(select)) < DOWN_DEADLINE
        assert await elapsed_raising(NoHostAvailable, stream_all(session)) < DOWN_DEADLINE
        batch = BatchStatement()
        batch.add("INSERT INTO system_auth.x (k) VALUES (1)")
        assert await elapsed_raising(NoHostAvailable, session.execute_batch(batch)) < DOWN_DEADLINE
        health = await session.check_host(contact_points[0])
        assert not health.up
        assert isinstance(health.error, NoHostAvailable)
        await session.close()

    # connecting to an address where nothing listens any more
    started = time.monotonic()
    async with AsyncCluster(contact_points, port=port) as nothing:
        with pytest.raises(NoHostAvailable):
            await nothing.connect(timeout=10)
    assert time.monotonic() - started < 5


async def create_table(session: AsyncSession, table: str, replication: dict[str, int]) -> None:
    """``table`` is ``keyspace.name (columns...)``; its keyspace gets NetworkTopologyStrategy
    with ``replication`` (DC name -> RF). Schema changes on several nodes take a while."""
    keyspace = table.split(".", 1)[0]
    factors = ", ".join(f"'{dc}': {rf}" for dc, rf in replication.items())
    await session.execute(
        f"CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = "
        f"{{'class': 'NetworkTopologyStrategy', {factors}}}",
        timeout=60,
    )
    await session.execute(f"CREATE TABLE IF NOT EXISTS {table}", timeout=60)


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
        await create_table(
            session, "aiocql_quorum.kv (k int PRIMARY KEY, v int)", {"dc1": 2, "dc2": 1}
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

    print(f"QUORUM load outcomes: {dict(outcomes)}; after the kill: {dict(after_kill)}")
    assert not health.up, f"check_host still sees {victim} up: {health}"
    assert after_kill["ok"] > 100, after_kill
    # The retry policy's contract for idempotent statements: connection loss and overload
    # are retried on the next host; a server-side timeout with too few replicas answering is
    # rethrown. Nothing else may reach the caller.
    allowed = {"ok", ReadTimeout.__name__, WriteTimeout.__name__}
    assert set(outcomes) <= allowed, outcomes
    assert outcomes["ok"] / sum(outcomes.values()) > 0.99, outcomes


class RecordingRetryPolicy(IdempotentRetryPolicy):
    """aiocql's policy unchanged, with each timeout decision it makes written down.

    The driver passes everything but the statement by keyword (``retry_num=...,
    **response.info``), which is what the recording reads."""

    def __init__(self) -> None:
        super().__init__(max_retries=1)
        self.decisions: list[tuple[str, Any, int | None, int, int]] = []

    def on_read_timeout(self, query: Any, **info: Any) -> tuple[int, Any]:
        return self._record("read", query, super().on_read_timeout(query, **info), info)

    def on_write_timeout(self, query: Any, **info: Any) -> tuple[int, Any]:
        return self._record("write", query, super().on_write_timeout(query, **info), info)

    def _record(
        self, kind: str, query: Any, decision: tuple[int, Any], info: dict[str, Any]
    ) -> tuple[int, Any]:
        self.decisions.append((kind, query, info.get("write_type"), info["retry_num"], decision[0]))
        return decision


@pytest.mark.timeout(300)
async def test_hung_replica_server_timeouts_and_idempotent_batch_retry(
    cluster_multi: tuple[LocalCluster, ClusterInfo],
) -> None:
    """A frozen replica (SIGSTOP) is still believed alive by the coordinator, so requests that
    need it end in the server's own ReadTimeout/WriteTimeout, the same object from execute
    and from a stream, and the retry policy repeats only the idempotent batch, once: not a
    batch marked idempotent that holds a statement nobody declared idempotent."""
    local, info = cluster_multi
    coordinator, victim = info.datacenters["dc1"]
    policy = RecordingRetryPolicy()
    delivered: list[BaseException] = []
    async with AsyncCluster(
        [coordinator],
        port=info.port,
        load_balancing_policy=WhiteListRoundRobinPolicy([coordinator]),
        retry_policy=policy,
        timeouts=Timeouts(request=30),
    ) as cluster:
        session = await cluster.connect()
        await create_table(
            session, "aiocql_hung.wide (p int, c int, v int, PRIMARY KEY (p, c))", {"dc1": 2}
        )
        insert = await session.prepare("INSERT INTO aiocql_hung.wide (p, c, v) VALUES (?, ?, ?)")
        safe_insert = await session.prepare(
            "INSERT INTO aiocql_hung.wide (p, c, v) VALUES (?, ?, ?) USING TTL 86400"
        )
        safe_insert.is_idempotent = True
        select = await session.prepare("SELECT c FROM aiocql_hung.wide WHERE p = ?")
        insert.consistency_level = ConsistencyLevel.LOCAL_QUORUM
        select.consistency_level = ConsistencyLevel.LOCAL_QUORUM  # both dc1 replicas
        await session.execute_concurrent([(insert, (1, c, c)) for c in range(50)])

        def batch(statement: Any, idempotent: bool) -> BatchStatement:
            b = BatchStatement(
                batch_type=BatchType.UNLOGGED, consistency_level=ConsistencyLevel.LOCAL_QUORUM
            )
            # several partitions: a one-partition batch is a SIMPLE write to the server
            for p in range(2, 5):
                b.add(statement, (p, 0, 0))
            b.is_idempotent = idempotent
            return b

        idempotent_batch, plain_batch = batch(safe_insert, True), batch(insert, False)
        mislabelled_batch = batch(insert, True)  # its statement is not idempotent
        remove = session.add_listener(
            lambda event: delivered.append(event.error) if event.error is not None else None
        )
        await asyncio.to_thread(local.pause_node, victim)
        try:
            assert local.status()[victim] == "PAUSED"
            started = time.monotonic()
            outcomes = await asyncio.gather(
                session.execute(select, (1,)),
                collect_rows(session, select, (1,)),
                session.execute(insert, (9, 0, 0)),
                session.execute_batch(idempotent_batch),
                session.execute_batch(plain_batch),
                session.execute_batch(mislabelled_batch),
                return_exceptions=True,
            )
            elapsed = time.monotonic() - started
        finally:
            remove()
            await asyncio.to_thread(local.resume_node, victim)
            # resumes at once; wait until the coordinator and it see each other UP again
            await asyncio.to_thread(local.start_node, victim)
        await session.close()

    from_execute, from_stream, simple_write, *batch_errors = outcomes
    print(f"hung replica: {[type(o).__name__ for o in outcomes]} in {elapsed:.1f}s")
    assert type(from_execute) is ReadTimeout, repr(from_execute)
    assert type(from_stream) is ReadTimeout, repr(from_stream)
    for write in (simple_write, *batch_errors):
        assert type(write) is WriteTimeout, repr(write)
    # the very objects the driver delivered, from every entry point (listeners saw the same)
    assert all(any(o is d for d in delivered) for o in outcomes)

    by_query: dict[int, list[tuple[str, int | None, int, int]]] = {}
    for kind, query, write_type, retry_num, decision in policy.decisions:
        by_query.setdefault(id(query), []).append((kind, write_type, retry_num, decision))
    retry, rethrow = RetryPolicy.RETRY, RetryPolicy.RETHROW
    assert by_query[id(idempotent_batch)] == [
        ("write", WriteType.UNLOGGED_BATCH, 0, retry),
        ("write", WriteType.UNLOGGED_BATCH, 1, rethrow),
    ]
    assert by_query[id(plain_batch)] == [("write", WriteType.UNLOGGED_BATCH, 0, rethrow)]
    # the mislabelled batch (sent as a copy marked not idempotent), the bound INSERT and both
    # reads: each gave up at once (not idempotent / too few replicas)
    others = [
        d
        for key, ds in by_query.items()
        for d in ds
        if key not in (id(idempotent_batch), id(plain_batch))
    ]
    assert sorted(others, key=repr) == sorted(
        [
            ("write", WriteType.UNLOGGED_BATCH, 0, rethrow),
            ("write", WriteType.SIMPLE, 0, rethrow),
            ("read", None, 0, rethrow),
            ("read", None, 0, rethrow),
        ],
        key=repr,
    )


async def collect_rows(session: AsyncSession, query: Any, parameters: Any) -> list[Any]:
    async with session.stream(query, parameters, page_size=10) as rows:
        return [row async for row in rows]

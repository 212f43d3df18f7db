"""Session lifecycle: one session for many operations, several per cluster, context managers."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from aiocql import AsyncCluster, AsyncSession, SessionClosedError, StreamClosedError

from cqlsuites.connect import new_cluster
from cqlsuites.env import SuiteEnv

DDL = 60.0


async def _counter_table(cql: AsyncSession) -> None:
    await cql.execute(
        "CREATE TABLE IF NOT EXISTS reuse (worker int, n int, PRIMARY KEY (worker, n))",
        timeout=DDL,
    )


async def test_one_session_serves_many_operations(
    cql: AsyncSession, suite_params: Mapping[str, Any]
) -> None:
    operations: int = suite_params["operations"]
    await _counter_table(cql)
    insert = await cql.prepare("INSERT INTO reuse (worker, n) VALUES (?, ?)")
    before = cql.stats().requests
    workers = 8

    async def worker(w: int) -> None:
        for n in range(w, operations, workers):
            await cql.execute(insert, (w, n))

    await asyncio.gather(*(worker(w) for w in range(workers)))
    made = cql.stats().requests - before
    assert made == operations, f"{operations} operations sent but the session counted {made}"
    rows = await cql.execute_all("SELECT n FROM reuse WHERE worker IN (0, 1, 2, 3, 4, 5, 6, 7)")
    assert sorted(r.n for r in rows) == list(range(operations))
    assert cql.in_flight == 0


async def test_several_sessions_on_one_cluster_see_each_other(
    cql_cluster: AsyncCluster, cql: AsyncSession, keyspace: str
) -> None:
    await cql.execute(
        "CREATE TABLE IF NOT EXISTS shared (k int PRIMARY KEY, writer int)", timeout=DDL
    )
    sessions = [await cql_cluster.connect(keyspace) for _ in range(3)]
    try:
        assert len({id(s.driver_session) for s in sessions}) == 3, "sessions were not distinct"
        for i, session in enumerate(sessions):
            await session.execute("INSERT INTO shared (k, writer) VALUES (%s, %s)", (i, i))
        for session in sessions:
            rows = await session.execute_all("SELECT k, writer FROM shared WHERE k IN (0, 1, 2)")
            assert sorted((r.k, r.writer) for r in rows) == [(0, 0), (1, 1), (2, 2)]
    finally:
        for session in sessions:
            await session.close()
    assert all(s.closed for s in sessions)
    row = (await cql.execute("SELECT writer FROM shared WHERE k = 2")).one()
    assert row is not None, "closing other sessions broke the suite's own session"


async def test_cluster_and_session_context_managers_close(suite_env: SuiteEnv) -> None:
    async with new_cluster(suite_env) as cluster:
        async with await cluster.connect() as session:
            row = (await session.execute("SELECT release_version FROM system.local")).one()
            assert row is not None
        assert session.closed, "leaving `async with session` did not close it"
        with pytest.raises(SessionClosedError):
            await session.execute("SELECT release_version FROM system.local")
        survivor = await cluster.connect()
    assert cluster.closed, "leaving `async with cluster` did not close it"
    assert survivor.closed, "closing the cluster left one of its sessions open"


async def test_stream_context_manager_closes_the_stream(cql: AsyncSession) -> None:
    async with cql.stream("SELECT keyspace_name FROM system_schema.keyspaces") as rows:
        first = await rows.__anext__()
        assert first.keyspace_name
    assert rows.closed, "leaving `async with stream` did not close it"
    with pytest.raises(StreamClosedError):
        await rows.__anext__()

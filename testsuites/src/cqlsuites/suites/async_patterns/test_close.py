"""Closing a session with requests in flight fails them at once, and never hangs."""

from __future__ import annotations

import asyncio

import pytest
from aiocql import AsyncCluster, AsyncSession, SessionClosedError
from cassandra.query import SimpleStatement

from .slots import wait_in_flight


async def test_close_with_requests_in_flight(
    cql_cluster: AsyncCluster, keyspace: str, slow_query: SimpleStatement
) -> None:
    session = await cql_cluster.connect(keyspace, max_in_flight=4)
    tasks = [asyncio.ensure_future(session.execute(slow_query)) for _ in range(12)]
    await wait_in_flight(session, 4)
    async with asyncio.timeout(10):
        await session.close()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    closed = [r for r in results if isinstance(r, SessionClosedError)]
    other = [
        r for r in results if isinstance(r, BaseException) and not isinstance(r, SessionClosedError)
    ]
    assert not other, f"requests failed otherwise than SessionClosedError: {other[:3]}"
    assert closed, "no pending request was failed by close()"
    assert session.closed


async def test_close_is_idempotent_and_final(cql_cluster: AsyncCluster, keyspace: str) -> None:
    session = await cql_cluster.connect(keyspace)
    await session.execute("SELECT v FROM kv WHERE k = 1")
    async with asyncio.timeout(10):
        await session.close()
        await session.close()
    with pytest.raises(SessionClosedError):
        await session.execute("SELECT v FROM kv WHERE k = 1")


async def test_context_manager_closes_on_error(cql_cluster: AsyncCluster, keyspace: str) -> None:
    used: list[AsyncSession] = []

    async def application() -> None:
        async with await cql_cluster.connect(keyspace) as session:
            used.append(session)
            await session.execute("SELECT v FROM kv WHERE k = 1")
            raise RuntimeError("application failure")

    with pytest.raises(RuntimeError, match="application failure"):
        await application()
    assert used, "the session was never opened"
    assert used[0].closed, "leaving the async with block by an exception did not close it"

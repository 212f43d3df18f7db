"""What the aiocql test modules against a real node set up the same way: a keyspace with a
``wide`` table of one partition's rows, and execution profiles pinned to dc1."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiocql import AsyncCluster, AsyncSession
from cassandra.cluster import ExecutionProfile
from cassandra.policies import DCAwareRoundRobinPolicy


def dc1_profile(**options: Any) -> ExecutionProfile:
    """An execution profile routed to dc1 with the given driver options."""
    return ExecutionProfile(
        load_balancing_policy=DCAwareRoundRobinPolicy(local_dc="dc1"), **options
    )


async def wide_session(
    cluster: AsyncCluster, keyspace: str, rows: int, value: Callable[[int], str], *tables: str
) -> AsyncSession:
    """A session using ``keyspace`` (RF 1) where ``wide (p, c, v)`` holds ``rows`` rows in
    partition 1 (``v = value(c)``); ``tables`` are further CREATE TABLE bodies."""
    session = await cluster.connect()
    await session.execute(
        f"CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}",
        timeout=30,
    )
    await session.set_keyspace(keyspace)
    for table in ("wide (p int, c int, v text, PRIMARY KEY (p, c))", *tables):
        await session.execute(f"CREATE TABLE IF NOT EXISTS {table}", timeout=30)
    insert = await session.prepare("INSERT INTO wide (p, c, v) VALUES (1, ?, ?)")
    await session.execute_concurrent(
        [(insert, (c, value(c))) for c in range(rows)], concurrency=200
    )
    return session

"""Prepared statements: prepared once, bound many times, by position or by name, from any
session of the cluster."""

from __future__ import annotations

from aiocql import AsyncCluster, AsyncSession

ROWS = 100


async def _table(cql: AsyncSession) -> None:
    await cql.execute("CREATE TABLE IF NOT EXISTS kv (k int PRIMARY KEY, v text)", timeout=60)


async def test_prepare_is_cached_per_query(cql: AsyncSession) -> None:
    await _table(cql)
    first = await cql.prepare("SELECT v FROM kv WHERE k = ?")
    again = await cql.prepare("SELECT v FROM kv WHERE k = ?")
    assert again is first, "preparing the same text twice made a second prepared statement"
    assert [c.name for c in first.column_metadata] == ["k"], "bind markers not as written"


async def test_a_statement_prepared_on_one_session_runs_on_another(
    cql: AsyncSession, cql_cluster: AsyncCluster, keyspace: str
) -> None:
    # The driver's prepared statements belong to the cluster, not to the session that
    # prepared them (smoke covers the round trip on one session).
    await _table(cql)
    insert = await cql.prepare("INSERT INTO kv (k, v) VALUES (?, ?)")
    select = await cql.prepare("SELECT v FROM kv WHERE k = ?")
    async with await cql_cluster.connect(keyspace) as other:
        await other.execute_concurrent(
            [(insert, (k, f"o{k}")) for k in range(ROWS)], concurrency=16
        )
    results = await cql.execute_concurrent([(select, (k,)) for k in range(ROWS)], concurrency=16)
    assert [r.one().v for r in results] == [f"o{k}" for k in range(ROWS)]


async def test_prepared_statement_binds_named_values(cql: AsyncSession) -> None:
    await _table(cql)
    insert = await cql.prepare("INSERT INTO kv (k, v) VALUES (:key, :value)")
    await cql.execute(insert, {"key": 1000, "value": "named"})
    row = (await cql.execute("SELECT v FROM kv WHERE k = 1000")).one()
    assert row is not None, "the row inserted with named values is missing"
    assert row.v == "named"

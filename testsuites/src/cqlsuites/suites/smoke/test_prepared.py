"""Prepared statements: bind, execute concurrently, read back every row."""

from __future__ import annotations

from aiocql import AsyncSession

ROWS = 200


async def test_prepared_insert_and_select(cql: AsyncSession) -> None:
    await cql.execute(
        "CREATE TABLE IF NOT EXISTS prepared_kv (k int PRIMARY KEY, v text)", timeout=60
    )
    insert = await cql.prepare("INSERT INTO prepared_kv (k, v) VALUES (?, ?)")
    select = await cql.prepare("SELECT v FROM prepared_kv WHERE k = ?")
    assert await cql.prepare("INSERT INTO prepared_kv (k, v) VALUES (?, ?)") is insert, (
        "preparing the same query twice did not reuse the prepared statement"
    )

    await cql.execute_concurrent([(insert, (k, f"v{k}")) for k in range(ROWS)], concurrency=32)
    results = await cql.execute_concurrent([(select, (k,)) for k in range(ROWS)], concurrency=32)
    values = [r.one().v for r in results]
    assert values == [f"v{k}" for k in range(ROWS)]

"""Batches mixing statement kinds, tables, timestamps and TTLs, and a rejected batch."""

from __future__ import annotations

import pytest
from aiocql import AsyncSession
from cassandra import InvalidRequest
from cassandra.query import BatchStatement, BatchType, SimpleStatement

pytestmark = pytest.mark.usefixtures("tables")


async def _read(cql: AsyncSession, consistency: int, table: str, p: int) -> dict[int, str]:
    query = SimpleStatement(f"SELECT c, v FROM {table} WHERE p = %s", consistency_level=consistency)
    return {r.c: r.v for r in await cql.execute_all(query, (p,))}


async def test_insert_update_delete_in_one_batch(cql: AsyncSession, consistency: int) -> None:
    await cql.execute(
        SimpleStatement(
            "INSERT INTO kv (p, c, v) VALUES (300, 1, 'old')", consistency_level=consistency
        )
    )
    await cql.execute(
        SimpleStatement(
            "INSERT INTO kv (p, c, v) VALUES (300, 2, 'gone')", consistency_level=consistency
        )
    )
    insert = await cql.prepare("INSERT INTO kv (p, c, v) VALUES (?, ?, ?)")
    batch = BatchStatement(consistency_level=consistency)
    batch.add(insert, (300, 3, "new"))
    batch.add(SimpleStatement("UPDATE kv SET v = %s WHERE p = %s AND c = %s"), ("updated", 300, 1))
    batch.add("DELETE FROM kv WHERE p = 300 AND c = 2")
    await cql.execute_batch(batch)
    assert await _read(cql, consistency, "kv", 300) == {1: "updated", 3: "new"}


async def test_prepared_and_simple_statements_across_tables(
    cql: AsyncSession, consistency: int
) -> None:
    insert = await cql.prepare("INSERT INTO kv (p, c, v) VALUES (?, ?, ?)")
    batch = BatchStatement(batch_type=BatchType.LOGGED, consistency_level=consistency)
    batch.add(insert, (310, 0, "main"))
    batch.add("INSERT INTO kv_shadow (p, c, v) VALUES (%s, %s, %s)", (310, 0, "shadow"))
    await cql.execute_batch(batch)
    assert await _read(cql, consistency, "kv", 310) == {0: "main"}
    assert await _read(cql, consistency, "kv_shadow", 310) == {0: "shadow"}


async def test_batch_timestamp_applies_to_every_statement(
    cql: AsyncSession, consistency: int
) -> None:
    stamp = 1_700_000_000_000_000
    batch = BatchStatement(consistency_level=consistency)
    batch.add(f"INSERT INTO kv (p, c, v) VALUES (320, 0, 'a') USING TIMESTAMP {stamp}")
    batch.add(f"INSERT INTO kv (p, c, v) VALUES (321, 0, 'b') USING TIMESTAMP {stamp}")
    batch.add("INSERT INTO kv_shadow (p, c, v) VALUES (320, 0, 'c')")
    batch.add("INSERT INTO kv_shadow (p, c, v) VALUES (321, 0, 'd')")
    await cql.execute_batch(batch)
    stamps = [
        (await cql.execute(f"SELECT writetime(v) AS w FROM {table} WHERE p = {p}")).one().w
        for table in ("kv", "kv_shadow")
        for p in (320, 321)
    ]
    assert stamps[:2] == [stamp, stamp], f"explicit timestamps not applied: {stamps[:2]}"
    assert stamps[2] == stamps[3] != stamp, (
        f"statements without USING TIMESTAMP got different timestamps {stamps[2:]}: a batch "
        "gives them one server timestamp"
    )


async def test_statement_ttl_inside_batch(cql: AsyncSession, consistency: int) -> None:
    batch = BatchStatement(consistency_level=consistency)
    batch.add("INSERT INTO kv (p, c, v) VALUES (330, 0, 'short') USING TTL 300")
    batch.add("INSERT INTO kv (p, c, v) VALUES (330, 1, 'forever')")
    await cql.execute_batch(batch)
    rows = {r.c: r.t for r in await cql.execute_all("SELECT c, ttl(v) AS t FROM kv WHERE p = 330")}
    assert rows[1] is None, f"a statement without TTL got TTL {rows[1]}"
    assert rows[0] is not None, "a statement USING TTL 300 has no TTL"
    assert 0 < rows[0] <= 300, f"a statement USING TTL 300 has TTL {rows[0]}"


async def test_rejected_batch_applies_nothing(cql: AsyncSession, consistency: int) -> None:
    batch = BatchStatement(consistency_level=consistency)
    batch.add("INSERT INTO kv (p, c, v) VALUES (340, 0, 'never')")
    batch.add("INSERT INTO kv (p, c, no_such_column) VALUES (341, 0, 'x')")
    with pytest.raises(InvalidRequest, match="no_such_column"):
        await cql.execute_batch(batch)
    assert await _read(cql, consistency, "kv", 340) == {}, (
        "the valid statement of a rejected batch was applied"
    )

"""Positional and named markers, reuse of one prepared statement, and bad bindings refused."""

from __future__ import annotations

import asyncio

import pytest
from aiocql import AsyncSession
from cassandra import InvalidRequest

pytestmark = pytest.mark.usefixtures("tables")


async def test_positional_markers(cql: AsyncSession) -> None:
    insert = await cql.prepare("INSERT INTO kv (k, a, b) VALUES (?, ?, ?)")
    await cql.execute(insert, (1, 10, "one"))
    select = await cql.prepare("SELECT a, b FROM kv WHERE k = ?")
    row = (await cql.execute(select, (1,))).one()
    assert row is not None, "the row bound positionally is missing"
    assert (row.a, row.b) == (10, "one")


async def test_named_markers_bind_by_name(cql: AsyncSession) -> None:
    insert = await cql.prepare("INSERT INTO kv (k, a, b) VALUES (:key, :number, :label)")
    await cql.execute(insert, {"label": "two", "key": 2, "number": 20})
    select = await cql.prepare("SELECT a, b FROM kv WHERE k = :key")
    row = (await cql.execute(select, {"key": 2})).one()
    assert row is not None, "the row bound by name is missing"
    assert (row.a, row.b) == (20, "two"), "named values were bound to the wrong columns"


async def test_repeated_named_marker(cql: AsyncSession) -> None:
    insert = await cql.prepare("INSERT INTO wide (p, c, v) VALUES (:p, :c, :v)")
    await cql.execute_concurrent([(insert, {"p": 3, "c": c, "v": str(c)}) for c in range(10)])
    select = await cql.prepare("SELECT c FROM wide WHERE p = :p AND c >= :low AND c < :high")
    rows = (await cql.execute(select, {"p": 3, "low": 2, "high": 5})).all()
    assert [r.c for r in rows] == [2, 3, 4]


async def test_one_statement_serves_many_executions(cql: AsyncSession) -> None:
    insert = await cql.prepare("INSERT INTO wide (p, c, v) VALUES (?, ?, ?)")
    bound = insert.bind((4, 0, "first"))
    await cql.execute(bound)
    await cql.execute(insert.bind((4, 1, "second")))
    await cql.execute_concurrent([(insert, (4, c, f"v{c}")) for c in range(2, 200)], concurrency=32)
    again = await cql.prepare("INSERT INTO wide (p, c, v) VALUES (?, ?, ?)")
    assert again is insert, "preparing the same text again did not return the cached statement"
    count = (await cql.execute("SELECT count(*) AS n FROM wide WHERE p = 4")).one().n
    assert count == 200, f"200 executions of one prepared statement left {count} rows"


async def test_concurrent_prepares_share_one_statement(cql: AsyncSession) -> None:
    text = "SELECT v FROM wide WHERE p = ? AND c = ? LIMIT 1"
    statements = await asyncio.gather(*(cql.prepare(text) for _ in range(20)))
    assert len({id(s) for s in statements}) == 1, "concurrent prepares returned different objects"
    assert statements[0].query_id, "the prepared statement has no server id"


async def test_bind_marker_in_limit_and_in(cql: AsyncSession) -> None:
    insert = await cql.prepare("INSERT INTO wide (p, c) VALUES (?, ?)")
    await cql.execute_concurrent([(insert, (5, c)) for c in range(50)])
    select = await cql.prepare("SELECT c FROM wide WHERE p = ? AND c IN ? LIMIT ?")
    rows = (await cql.execute(select, (5, list(range(0, 50, 2)), 7))).all()
    assert [r.c for r in rows] == list(range(0, 14, 2)), "IN ? and LIMIT ? were not bound"


async def test_wrong_value_type_refused_before_sending(cql: AsyncSession) -> None:
    insert = await cql.prepare("INSERT INTO kv (k, a) VALUES (?, ?)")
    with pytest.raises(TypeError, match='column "a"'):
        await cql.execute(insert, (6, "not an int"))
    assert (await cql.execute("SELECT k FROM kv WHERE k = 6")).one() is None


async def test_wrong_value_count_refused(cql: AsyncSession) -> None:
    insert = await cql.prepare("INSERT INTO kv (k, a) VALUES (?, ?)")
    with pytest.raises(ValueError, match="Too many arguments"):
        await cql.execute(insert, (7, 1, 2))


async def test_preparing_an_invalid_statement_raises(cql: AsyncSession) -> None:
    with pytest.raises(InvalidRequest, match="no_such_table"):
        await cql.prepare("SELECT * FROM no_such_table WHERE k = ?")


async def test_prepared_statement_describes_its_markers(cql: AsyncSession) -> None:
    insert = await cql.prepare("INSERT INTO wide (p, c, v) VALUES (?, ?, ?)")
    # the driver describes each marker as (keyspace, table, name, type)
    columns = [(c[2], c[3].typename) for c in insert.column_metadata]
    assert columns == [("p", "int"), ("c", "int"), ("v", "varchar")], columns
    assert insert.routing_key_indexes == [0], "the partition key marker is not the routing key"
    select = await cql.prepare("SELECT c, v FROM wide WHERE p = ?")
    names = [c[2] for c in select.result_metadata]
    assert names == ["c", "v"], f"result metadata names {names}"


async def test_prepared_select_pages_through_a_partition(cql: AsyncSession) -> None:
    insert = await cql.prepare("INSERT INTO wide (p, c, v) VALUES (?, ?, ?)")
    await cql.execute_concurrent([(insert, (8, c, "x")) for c in range(120)], concurrency=32)
    select = await cql.prepare("SELECT c FROM wide WHERE p = ?")
    pages = []
    async with cql.stream(select, (8,), page_size=50) as stream:
        async for page in stream.pages():
            pages.append([r.c for r in page])
    assert [len(p) for p in pages] == [50, 50, 20], f"page sizes {[len(p) for p in pages]}"
    assert [c for page in pages for c in page] == list(range(120)), "pages lost or repeated rows"

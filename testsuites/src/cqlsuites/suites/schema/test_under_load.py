"""Schema changes while queries keep running: only the documented errors, and data intact."""

from __future__ import annotations

import asyncio
from typing import Any

from aiocql import AsyncSession
from cassandra import InvalidRequest, ReadFailure
from cassandra.protocol import ServerError

from .agreement import assert_agreement, ddl
from .traffic import Traffic


async def test_add_column_while_querying(cql: AsyncSession, traffic: Traffic) -> None:
    await ddl(cql, "CREATE TABLE IF NOT EXISTS grow (k int PRIMARY KEY, a int)")
    insert = await cql.prepare("INSERT INTO grow (k, a) VALUES (?, ?)")
    select = await cql.prepare("SELECT * FROM grow WHERE k = ?")

    async def request(session: AsyncSession, n: int) -> None:
        await session.execute(insert, (n % 500, n))
        await session.execute(select, (n % 500,))

    async def add_column() -> None:
        await ddl(cql, "ALTER TABLE grow ADD extra text")
        await cql.execute("UPDATE grow SET extra = 'x' WHERE k = 0")

    await traffic.around(request, add_column)
    unexpected = traffic.unexpected(_replica_behind)
    assert not unexpected, f"queries failed while a column was added: {unexpected}"
    row = (await cql.execute(select, (0,))).one()
    assert row.extra == "x", f"the running prepared SELECT * does not show the new column: {row}"
    await assert_agreement(cql)


async def test_drop_column_while_querying(cql: AsyncSession, traffic: Traffic) -> None:
    await ddl(cql, "CREATE TABLE IF NOT EXISTS shrink (k int PRIMARY KEY, a int, doomed text)")
    await cql.execute("INSERT INTO shrink (k, a, doomed) VALUES (-1, 0, 'gone soon')")
    insert = await cql.prepare("INSERT INTO shrink (k, a) VALUES (?, ?)")
    select = await cql.prepare("SELECT * FROM shrink WHERE k = ?")

    async def request(session: AsyncSession, n: int) -> None:
        await session.execute(insert, (n % 500, n))
        await session.execute(select, (-1,))

    await traffic.around(request, lambda: ddl(cql, "ALTER TABLE shrink DROP doomed"))
    unexpected = traffic.unexpected(_replica_behind)
    assert not unexpected, f"queries not using the dropped column failed: {unexpected}"
    result = await cql.execute(select, (-1,))
    assert result.column_names == ["k", "a"], f"SELECT * still shows {result.column_names}"
    await assert_agreement(cql)


def _replica_behind(exc: BaseException) -> bool:
    """A replica that has not applied the change yet fails the read (ReadFailure): Cassandra's
    documented behaviour while nodes disagree on the schema, allowed only during the change."""
    return isinstance(exc, ReadFailure)


def _table_missing(exc: BaseException) -> bool:
    """The errors of a read racing DROP TABLE: the table is unknown to the coordinator
    (InvalidRequest), or was dropped between parsing and reading (the replica no longer knows
    the table id: a ServerError "Unknown CF <id>")."""
    text = str(exc).lower()
    if isinstance(exc, ServerError):
        return "unknown cf" in text
    if _replica_behind(exc):
        return True
    return isinstance(exc, InvalidRequest) and (
        "unconfigured table" in text or "does not exist" in text or "unknown table" in text
    )


async def test_drop_and_recreate_table_under_reads(cql: AsyncSession, traffic: Traffic) -> None:
    await ddl(cql, "DROP TABLE IF EXISTS phoenix")
    await ddl(cql, "CREATE TABLE phoenix (k int PRIMARY KEY, v text)")
    await cql.execute("INSERT INTO phoenix (k, v) VALUES (1, 'first life')")
    seen: list[Any] = []

    async def request(session: AsyncSession, n: int) -> None:
        row = (await session.execute("SELECT v FROM phoenix WHERE k = 1")).one()
        seen.append(None if row is None else row.v)

    async def drop_and_recreate() -> None:
        await ddl(cql, "DROP TABLE phoenix")
        await asyncio.sleep(0.2)
        await ddl(cql, "CREATE TABLE phoenix (k int PRIMARY KEY, v text)")

    after_create = await traffic.around(request, drop_and_recreate, settle=30)
    unexpected = traffic.unexpected(_table_missing)
    assert not unexpected, f"reads failed other than with 'table does not exist': {unexpected}"
    assert traffic.ok > after_create, "reads did not recover after the table was re-created"
    assert seen[-1] is None, f"the re-created table returned the old row {seen[-1]!r}"
    assert "first life" in seen, "no read saw the row before the drop"
    await assert_agreement(cql)


async def _index_while_writing(cql: AsyncSession, traffic: Traffic, table: str, using: str) -> None:
    await ddl(cql, f"CREATE TABLE IF NOT EXISTS {table} (k int PRIMARY KEY, colour text)")
    insert = await cql.prepare(f"INSERT INTO {table} (k, colour) VALUES (?, ?)")

    async def request(session: AsyncSession, n: int) -> None:
        await session.execute(insert, (n, "red" if n % 4 == 0 else "blue"))

    index = f"CREATE INDEX IF NOT EXISTS {table}_colour ON {table} (colour){using}"
    await traffic.around(request, lambda: ddl(cql, index), settle=100)
    assert not traffic.errors, f"writes failed while the index was built: {traffic.unexpected()}"
    expected = list(range(0, traffic.ok, 4))
    reds: list[int] = []
    last_refusal: ReadFailure | None = None
    try:
        async with asyncio.timeout(30):  # the initial build runs in the background
            while reds != expected:
                try:
                    rows = await cql.execute_all(f"SELECT k FROM {table} WHERE colour = 'red'")
                    reds = sorted(r.k for r in rows)
                except ReadFailure as exc:  # replicas refuse an index still being built
                    last_refusal = exc
                if reds != expected:
                    await asyncio.sleep(0.2)
    except TimeoutError:
        pass
    assert reds == expected, (
        f"after 30 s the index returns {len(reds)} red rows, {len(expected)} were written "
        f"(last refusal: {last_refusal})"
    )


async def test_create_secondary_index_while_writing(cql: AsyncSession, traffic: Traffic) -> None:
    await _index_while_writing(cql, traffic, "painted", "")


async def test_create_sai_index_while_writing(cql: AsyncSession, traffic: Traffic) -> None:
    await _index_while_writing(cql, traffic, "painted_sai", " USING 'sai'")

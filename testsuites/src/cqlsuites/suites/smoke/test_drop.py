"""Dropping a table removes it from the schema (the keyspace itself is dropped at the end)."""

from __future__ import annotations

from aiocql import AsyncSession


async def test_drop_table(cql: AsyncSession, keyspace: str) -> None:
    await cql.execute("CREATE TABLE IF NOT EXISTS doomed (k int PRIMARY KEY)", timeout=60)
    await cql.execute("DROP TABLE doomed", timeout=60)
    row = (
        await cql.execute(
            "SELECT table_name FROM system_schema.tables "
            "WHERE keyspace_name = %s AND table_name = 'doomed'",
            (keyspace,),
        )
    ).one()
    assert row is None, "table doomed is still in system_schema.tables after DROP TABLE"

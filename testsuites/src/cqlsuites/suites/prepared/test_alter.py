"""Statements prepared before ALTER TABLE see the new schema, never stale result metadata."""

from __future__ import annotations

import pytest
from aiocql import AsyncSession
from cassandra import InvalidRequest

from cqlsuites.kit import DDL_TIMEOUT


async def _table(cql: AsyncSession, name: str) -> None:
    await cql.execute(
        f"CREATE TABLE IF NOT EXISTS {name} (k int PRIMARY KEY, a int, b text)",
        timeout=DDL_TIMEOUT,
    )


async def test_statements_prepared_before_add_column(cql: AsyncSession) -> None:
    await _table(cql, "alter_add")
    select = await cql.prepare("SELECT * FROM alter_add WHERE k = ?")
    insert = await cql.prepare("INSERT INTO alter_add (k, a, b) VALUES (?, ?, ?)")
    await cql.execute(insert, (1, 1, "x"))
    assert (await cql.execute(select, (1,))).column_names == ["k", "a", "b"]
    await cql.execute("ALTER TABLE alter_add ADD extra text", timeout=DDL_TIMEOUT)

    await cql.execute(insert, (2, 20, "after"))
    await cql.execute("UPDATE alter_add SET extra = 'new' WHERE k = 1")
    result = await cql.execute(select, (1,))
    assert result.column_names == ["k", "a", "b", "extra"], (
        f"after ALTER ADD the prepared SELECT * still returns {result.column_names}"
    )
    assert result.one().extra == "new", f"the added column holds {result.one().extra!r}"
    row = (await cql.execute(select, (2,))).one()
    assert row is not None, "an INSERT prepared before ALTER ADD wrote nothing"
    assert (row.a, row.b, row.extra) == (20, "after", None)


async def test_statements_prepared_before_drop_column(cql: AsyncSession) -> None:
    await _table(cql, "alter_drop")
    select = await cql.prepare("SELECT * FROM alter_drop WHERE k = ?")
    insert = await cql.prepare("INSERT INTO alter_drop (k, a) VALUES (?, ?)")
    await cql.execute("INSERT INTO alter_drop (k, a, b) VALUES (1, 1, 'x')")
    await cql.execute("ALTER TABLE alter_drop DROP a", timeout=DDL_TIMEOUT)

    result = await cql.execute(select, (1,))
    assert result.column_names == ["k", "b"], (
        f"after ALTER DROP the prepared SELECT * still returns {result.column_names}"
    )
    assert tuple(result.one()) == (1, "x"), f"values misaligned with columns: {result.one()}"
    with pytest.raises(InvalidRequest, match="column name a"):
        await cql.execute(insert, (3, 30))

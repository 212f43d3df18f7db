"""Create, read, update and delete: each statement changes exactly what it names."""

from __future__ import annotations

from aiocql import AsyncSession

DDL = 60.0


async def _table(cql: AsyncSession) -> None:
    await cql.execute(
        "CREATE TABLE IF NOT EXISTS people (id int PRIMARY KEY, name text, age int, city text)",
        timeout=DDL,
    )


async def test_insert_then_select_returns_the_row(cql: AsyncSession) -> None:
    await _table(cql)
    await cql.execute(
        "INSERT INTO people (id, name, age, city) VALUES (%s, %s, %s, %s)", (1, "ada", 36, "ldn")
    )
    row = (await cql.execute("SELECT name, age, city FROM people WHERE id = %s", (1,))).one()
    assert row is not None, "the inserted row is not readable"
    assert (row.name, row.age, row.city) == ("ada", 36, "ldn")


async def test_update_changes_only_the_named_column(cql: AsyncSession) -> None:
    await _table(cql)
    await cql.execute("INSERT INTO people (id, name, age, city) VALUES (2, 'bob', 40, 'par')")
    await cql.execute("UPDATE people SET age = %s WHERE id = %s", (41, 2))
    row = (await cql.execute("SELECT name, age, city FROM people WHERE id = 2")).one()
    assert row is not None
    assert (row.name, row.age, row.city) == ("bob", 41, "par"), f"after UPDATE age: {row}"


async def test_insert_on_an_existing_key_overwrites(cql: AsyncSession) -> None:
    await _table(cql)
    await cql.execute("INSERT INTO people (id, name, age) VALUES (3, 'cy', 20)")
    await cql.execute("INSERT INTO people (id, name) VALUES (3, 'cyd')")
    row = (await cql.execute("SELECT name, age FROM people WHERE id = 3")).one()
    assert row is not None
    assert (row.name, row.age) == ("cyd", 20), f"upsert merged wrongly: {row}"


async def test_delete_a_column_keeps_the_row(cql: AsyncSession) -> None:
    await _table(cql)
    await cql.execute("INSERT INTO people (id, name, city) VALUES (4, 'di', 'rom')")
    await cql.execute("DELETE city FROM people WHERE id = 4")
    row = (await cql.execute("SELECT name, city FROM people WHERE id = 4")).one()
    assert row is not None, "deleting one column deleted the row"
    assert (row.name, row.city) == ("di", None)


async def test_delete_a_row_removes_it(cql: AsyncSession) -> None:
    await _table(cql)
    await cql.execute("INSERT INTO people (id, name) VALUES (5, 'ed')")
    await cql.execute("DELETE FROM people WHERE id = 5")
    gone = (await cql.execute("SELECT id FROM people WHERE id = 5")).one()
    assert gone is None, "the deleted row is still readable"

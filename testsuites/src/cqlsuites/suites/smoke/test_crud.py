"""Create, read, update and delete rows at LOCAL_QUORUM, so reads see the writes."""

from __future__ import annotations

from aiocql import AsyncSession
from cassandra import ConsistencyLevel
from cassandra.query import SimpleStatement


def _q(cql: str) -> SimpleStatement:
    return SimpleStatement(cql, consistency_level=ConsistencyLevel.LOCAL_QUORUM)


async def test_crud_round_trip(cql: AsyncSession) -> None:
    await cql.execute(
        "CREATE TABLE IF NOT EXISTS crud (id int PRIMARY KEY, name text, score double)",
        timeout=60,
    )
    await cql.execute(_q("INSERT INTO crud (id, name, score) VALUES (%s, %s, %s)"), (1, "a", 1.5))
    row = (await cql.execute(_q("SELECT name, score FROM crud WHERE id = %s"), (1,))).one()
    assert row is not None, "inserted row not found"
    assert (row.name, row.score) == ("a", 1.5)

    await cql.execute(_q("UPDATE crud SET name = %s WHERE id = %s"), ("b", 1))
    row = (await cql.execute(_q("SELECT name FROM crud WHERE id = %s"), (1,))).one()
    assert row is not None
    assert row.name == "b", f"update not visible: name is {row.name!r}"

    await cql.execute(_q("DELETE FROM crud WHERE id = %s"), (1,))
    gone = (await cql.execute(_q("SELECT id FROM crud WHERE id = %s"), (1,))).one()
    assert gone is None, "deleted row is still readable"


async def test_lightweight_transaction_applies_once(cql: AsyncSession) -> None:
    await cql.execute("CREATE TABLE IF NOT EXISTS lwt (id int PRIMARY KEY, owner text)", timeout=60)
    first = (await cql.execute("INSERT INTO lwt (id, owner) VALUES (1, 'x') IF NOT EXISTS")).one()
    second = (await cql.execute("INSERT INTO lwt (id, owner) VALUES (1, 'y') IF NOT EXISTS")).one()
    assert first is not None
    assert second is not None
    assert first.applied, "the first conditional insert was not applied"
    assert not second.applied, "a second IF NOT EXISTS insert was applied"

"""Each schema change reaches every node: same schema version, same definitions, and the
driver's metadata follows."""

from __future__ import annotations

import pytest
from aiocql import AsyncCluster, AsyncSession
from cassandra import AlreadyExists, InvalidRequest

from .agreement import assert_agreement, ddl, per_node


async def test_every_node_reports_the_same_schema_version(cql: AsyncSession) -> None:
    await ddl(cql, "CREATE TABLE IF NOT EXISTS agreed (k int PRIMARY KEY, v text)")
    await assert_agreement(cql)


async def test_new_table_is_defined_on_every_node(cql: AsyncSession, keyspace: str) -> None:
    await ddl(cql, "CREATE TABLE IF NOT EXISTS visible (k int PRIMARY KEY, a int, b text)")
    columns = await per_node(
        cql,
        "SELECT column_name FROM system_schema.columns WHERE keyspace_name = %s "
        "AND table_name = 'visible'",
        keyspace,
    )
    for node, rows in columns.items():
        assert sorted(r.column_name for r in rows) == ["a", "b", "k"], f"{node}: {rows}"


async def test_driver_metadata_follows_changes(
    cql: AsyncSession, cql_cluster: AsyncCluster, keyspace: str
) -> None:
    await ddl(cql, "CREATE TABLE IF NOT EXISTS tracked (k int PRIMARY KEY, a int)")
    await ddl(cql, "ALTER TABLE tracked ADD b text")
    table = cql_cluster.metadata.keyspaces[keyspace].tables["tracked"]
    assert list(table.columns) == ["k", "a", "b"], f"driver metadata shows {list(table.columns)}"
    await ddl(cql, "DROP TABLE tracked")
    assert "tracked" not in cql_cluster.metadata.keyspaces[keyspace].tables


async def test_table_options_change_on_every_node(cql: AsyncSession, keyspace: str) -> None:
    await ddl(cql, "CREATE TABLE IF NOT EXISTS tuned (k int PRIMARY KEY)")
    await ddl(cql, "ALTER TABLE tuned WITH gc_grace_seconds = 3600 AND comment = 'tuned'")
    options = await per_node(
        cql,
        "SELECT gc_grace_seconds, comment FROM system_schema.tables WHERE keyspace_name = %s "
        "AND table_name = 'tuned'",
        keyspace,
    )
    for node, rows in options.items():
        assert [(r.gc_grace_seconds, r.comment) for r in rows] == [(3600, "tuned")], node


async def test_user_type_altered_in_use(cql: AsyncSession) -> None:
    await ddl(cql, "CREATE TYPE IF NOT EXISTS address (street text, city text)")
    await ddl(cql, "CREATE TABLE IF NOT EXISTS homes (k int PRIMARY KEY, home frozen<address>)")
    await cql.execute("INSERT INTO homes (k, home) VALUES (1, {street: 'main', city: 'oslo'})")
    await ddl(cql, "ALTER TYPE address ADD zip text")
    await cql.execute(
        "INSERT INTO homes (k, home) VALUES (2, {street: 'side', city: 'lima', zip: '15001'})"
    )
    rows = {r.k: r.home for r in await cql.execute_all("SELECT k, home FROM homes")}
    assert rows[2].zip == "15001", f"the new UDT field was not stored: {rows[2]}"
    assert rows[1].city == "oslo", "a value written before ALTER TYPE changed"
    assert rows[1].zip is None, f"an old value gained a zip: {rows[1]}"


async def test_create_twice_and_drop_missing(cql: AsyncSession) -> None:
    await ddl(cql, "CREATE TABLE IF NOT EXISTS twice (k int PRIMARY KEY)")
    await ddl(cql, "CREATE TABLE IF NOT EXISTS twice (k int PRIMARY KEY)")
    with pytest.raises(AlreadyExists):
        await cql.execute("CREATE TABLE twice (k int PRIMARY KEY)", timeout=60)
    with pytest.raises(InvalidRequest, match="never_created"):
        await cql.execute("DROP TABLE never_created", timeout=60)
    await ddl(cql, "DROP TABLE IF EXISTS never_created")


async def test_rename_clustering_column(cql: AsyncSession) -> None:
    await ddl(cql, "CREATE TABLE IF NOT EXISTS renamed (p int, c int, v text, PRIMARY KEY (p, c))")
    await cql.execute("INSERT INTO renamed (p, c, v) VALUES (1, 2, 'x')")
    await ddl(cql, "ALTER TABLE renamed RENAME c TO position")
    row = (await cql.execute("SELECT position, v FROM renamed WHERE p = 1")).one()
    assert (row.position, row.v) == (2, "x"), f"after RENAME the row reads {row}"
    with pytest.raises(InvalidRequest, match="c"):
        await cql.execute("SELECT c FROM renamed WHERE p = 1")


async def test_schema_version_moves_with_each_change(cql: AsyncSession) -> None:
    await ddl(cql, "CREATE TABLE IF NOT EXISTS versioned (k int PRIMARY KEY)")
    query = "SELECT schema_version FROM system.local"
    before = {n: rows[0].schema_version for n, rows in (await per_node(cql, query)).items()}
    await ddl(cql, "ALTER TABLE versioned ADD v text")
    after = {n: rows[0].schema_version for n, rows in (await per_node(cql, query)).items()}
    assert not set(before.values()) & set(after.values()), (
        f"the schema version did not change with ALTER TABLE: {before} -> {after}"
    )
    await assert_agreement(cql)


async def test_new_table_usable_from_another_session(
    cql: AsyncSession, cql_cluster: AsyncCluster, keyspace: str
) -> None:
    async with await cql_cluster.connect(keyspace) as other:
        await ddl(cql, "CREATE TABLE IF NOT EXISTS shared_now (k int PRIMARY KEY, v text)")
        insert = await other.prepare("INSERT INTO shared_now (k, v) VALUES (?, ?)")
        await other.execute(insert, (1, "from the other session"))
    row = (await cql.execute("SELECT v FROM shared_now WHERE k = 1")).one()
    assert row is not None, "a write through another session to a new table is missing"
    assert row.v == "from the other session"


async def test_refused_changes_leave_the_table_alone(
    cql: AsyncSession, cql_cluster: AsyncCluster, keyspace: str
) -> None:
    await ddl(cql, "CREATE TABLE IF NOT EXISTS fixed (p int, c int, v int, PRIMARY KEY (p, c))")
    with pytest.raises(InvalidRequest, match=r"(?i)type"):
        await cql.execute("ALTER TABLE fixed ALTER v TYPE bigint", timeout=60)
    with pytest.raises(InvalidRequest, match=r"(?i)primary key"):
        await cql.execute("ALTER TABLE fixed DROP c", timeout=60)
    table = cql_cluster.metadata.keyspaces[keyspace].tables["fixed"]
    assert [(c.name, c.cql_type) for c in table.columns.values()] == [
        ("p", "int"),
        ("c", "int"),
        ("v", "int"),
    ], "a refused ALTER changed the table"

"""A keyspace's lifecycle: created with the run's replication, used, dropped."""

from __future__ import annotations

from aiocql import AsyncCluster, AsyncSession

from cqlsuites import kit
from cqlsuites.connect import keyspace_cql, replication_for
from cqlsuites.env import SuiteEnv

DDL = 60.0


async def test_keyspace_create_use_drop(
    cql_cluster: AsyncCluster, keyspace: str, suite_env: SuiteEnv
) -> None:
    other = f"{keyspace}_life"[:48]
    session = await cql_cluster.connect()
    try:
        await session.execute(f"DROP KEYSPACE IF EXISTS {other}", timeout=DDL)
        await session.execute(
            keyspace_cql(other, replication_for(suite_env, cql_cluster)), timeout=DDL
        )
        await session.set_keyspace(other)
        assert session.keyspace == other
        await session.execute("CREATE TABLE t (k int PRIMARY KEY, v int)", timeout=DDL)
        await session.execute("INSERT INTO t (k, v) VALUES (1, 2)")
        row = (await session.execute(f"SELECT v FROM {other}.t WHERE k = 1")).one()
        assert row is not None, "a table in the new keyspace lost its row"
        assert row.v == 2
        await session.execute(f"DROP KEYSPACE {other}", timeout=DDL)
        gone = await kit.replication_of(session, other)
        assert gone is None, f"keyspace {other} still exists after DROP KEYSPACE"
    finally:
        await session.execute(f"DROP KEYSPACE IF EXISTS {other}", timeout=DDL)
        await session.close()


async def test_use_switches_unqualified_names(cql: AsyncSession, keyspace: str) -> None:
    await cql.execute("CREATE TABLE IF NOT EXISTS here (k int PRIMARY KEY)", timeout=DDL)
    await cql.execute("INSERT INTO here (k) VALUES (7)")
    row = (await cql.execute(f"SELECT k FROM {keyspace}.here WHERE k = 7")).one()
    assert cql.keyspace == keyspace
    assert row is not None, f"an unqualified INSERT did not land in {keyspace}"

"""What several built-in suites do the same way (schema helpers, which failures a workload
counts), written once.

Suites create their tables once per run (a schema change waits for agreement, so each suite
issues as few as it can), and some need a keyspace beside the suite's own with a replication the
run did not ask for (one replica, or more replicas than nodes) to make a failure real. Both
repeat across conftests; here they are one helper each, with the one DDL timeout they share.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from aiocql import AsyncSession
from cassandra import DriverException, RequestExecutionException
from cassandra.cluster import NoHostAvailable
from cassandra.connection import ConnectionException
from cassandra.protocol import RequestExecutionException as ServerRefusal

from cqlsuites.connect import keyspace_cql

DDL_TIMEOUT = 60.0
"""Seconds a schema change may take: it waits for every node to agree on the new schema, which
is slow on a loaded machine (the driver's 10 s request default is not enough there)."""

REQUEST_FAILURES = (
    DriverException,
    RequestExecutionException,
    # The server's "not now" answers (Overloaded, IsBootstrapping, Unavailable, ...) reach the
    # caller as the protocol module's own RequestExecutionException, which is not the package's:
    # a node busy restarting answers Overloaded, and a workload must count that, not die of it.
    ServerRefusal,
    NoHostAvailable,
    # A request in flight on a node's connection when the node dies fails with the connection's
    # own error (ConnectionShutdown): the driver does not retry a write it cannot prove idempotent.
    ConnectionException,
    TimeoutError,
)
"""What a workload counts as a failed request (thresholds judge them); anything else is a bug
in the suite and is raised."""


async def create_tables(cql: AsyncSession, *tables: str) -> None:
    """``CREATE TABLE IF NOT EXISTS`` each of ``tables`` (``"kv (k int PRIMARY KEY, v text)"``)
    in the session's keyspace, one after the other (concurrent DDL can disagree)."""
    for table in tables:
        await cql.execute(f"CREATE TABLE IF NOT EXISTS {table}", timeout=DDL_TIMEOUT)


@asynccontextmanager
async def side_keyspace(
    cql: AsyncSession, name: str, replication: Mapping[str, int], *tables: str
) -> AsyncIterator[str]:
    """Keyspace ``name`` with ``replication`` (replicas per DC) and ``tables``, dropped on exit.

    A leftover from an interrupted earlier run is dropped first, so the keyspace starts empty.
    ``name`` must differ from the suite keyspace and fit CQL's 48 characters.
    """
    await cql.execute(f"DROP KEYSPACE IF EXISTS {name}", timeout=DDL_TIMEOUT)
    await cql.execute(keyspace_cql(name, dict(replication)), timeout=DDL_TIMEOUT)
    try:
        for table in tables:
            await cql.execute(f"CREATE TABLE {name}.{table}", timeout=DDL_TIMEOUT)
        yield name
    finally:
        await cql.execute(f"DROP KEYSPACE IF EXISTS {name}", timeout=DDL_TIMEOUT)


async def replication_of(cql: AsyncSession, keyspace: str) -> dict[str, str] | None:
    """The replication map the schema holds for ``keyspace`` (``class`` and the replicas per
    DC, as the server stores them: strings), or None when there is no such keyspace."""
    row = (
        await cql.execute(
            "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = %s",
            (keyspace,),
        )
    ).one()
    return None if row is None else dict(row.replication)

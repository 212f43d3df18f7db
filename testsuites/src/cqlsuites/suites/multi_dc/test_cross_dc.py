"""Data written through one datacenter is read through another."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from typing import Any

import pytest
from aiocql import AsyncCluster, AsyncSession
from cassandra import ConsistencyLevel, WriteTimeout, WriteType
from cassandra.query import PreparedStatement

from cqlsuites.env import SuiteEnv

CL = ConsistencyLevel
PAIRS = [("first", "second"), ("second", "first")]


def _pick(datacenters: list[str], which: str) -> str:
    return datacenters[0] if which == "first" else datacenters[1]


async def _statements(session: AsyncSession, table: str) -> tuple[Any, Any]:
    write: PreparedStatement = await session.prepare(f"INSERT INTO {table} (k, v) VALUES (?, ?)")
    read: PreparedStatement = await session.prepare(f"SELECT v FROM {table} WHERE k = ?")
    return write, read


async def _read_all(
    session: AsyncSession, read: Any, keys: list[str], level: int
) -> dict[str, int | None]:
    results = await asyncio.gather(
        *(session.execute(read, (k,), consistency_level=level) for k in keys)
    )
    return {
        k: (r.one().v if r.one() is not None else None) for k, r in zip(keys, results, strict=True)
    }


def test_every_declared_dc_is_up(
    cql_cluster: AsyncCluster, suite_env: SuiteEnv, datacenters: list[str]
) -> None:
    up: dict[str, int] = {}
    for host in cql_cluster.metadata.all_hosts():
        if host.is_up is not False:
            up[host.datacenter] = up.get(host.datacenter, 0) + 1
    declared = {dc: t.nodes for dc, t in suite_env.topology.items()} or dict.fromkeys(
        datacenters, 1
    )
    for dc, nodes in declared.items():
        assert up.get(dc, 0) >= nodes, f"DC {dc}: {up.get(dc, 0)} node(s) up, {nodes} declared"


async def test_suite_keyspace_is_replicated_in_every_dc(
    cql: AsyncSession, keyspace: str, datacenters: list[str]
) -> None:
    row = (
        await cql.execute(
            "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = %s",
            (keyspace,),
        )
    ).one()
    assert row is not None
    replication = {k: v for k, v in row.replication.items() if k != "class"}
    for dc in datacenters:
        assert int(replication.get(dc, 0)) >= 1, f"{keyspace} has no replica in {dc}: {replication}"


async def _write_in_one_dc(
    sessions: Mapping[str, AsyncSession],
    writer_dc: str,
    reader_dc: str,
    table: str,
    keys: list[str],
    level: int,
) -> tuple[AsyncSession, PreparedStatement]:
    """Write ``keys`` (value: their index) through ``writer_dc`` at ``level``; return the
    other DC's session and its prepared read."""
    writer, reader = sessions[writer_dc], sessions[reader_dc]
    write, _ = await _statements(writer, table)
    _, read = await _statements(reader, table)
    await asyncio.gather(
        *(writer.execute(write, (k, i), consistency_level=level) for i, k in enumerate(keys))
    )
    return reader, read


@pytest.mark.parametrize(("source", "target"), PAIRS)
async def test_each_quorum_write_is_read_at_once_in_the_other_dc(
    sessions: Mapping[str, AsyncSession],
    datacenters: list[str],
    table: str,
    suite_params: Mapping[str, Any],
    source: str,
    target: str,
) -> None:
    keys = [f"each-{uuid.uuid4()}" for _ in range(suite_params["keys"])]
    reader, read = await _write_in_one_dc(
        sessions,
        _pick(datacenters, source),
        _pick(datacenters, target),
        table,
        keys,
        CL.EACH_QUORUM,
    )
    found = await _read_all(reader, read, keys, CL.LOCAL_QUORUM)
    missing = [k for k, v in found.items() if v is None]
    assert not missing, (
        f"{len(missing)} of {len(keys)} EACH_QUORUM writes through "
        f"{_pick(datacenters, source)} not visible at LOCAL_QUORUM in "
        f"{_pick(datacenters, target)}"
    )
    assert [found[k] for k in keys] == list(range(len(keys)))


@pytest.mark.parametrize(("source", "target"), PAIRS)
async def test_local_quorum_write_reaches_the_other_dc(
    sessions: Mapping[str, AsyncSession],
    datacenters: list[str],
    table: str,
    suite_params: Mapping[str, Any],
    source: str,
    target: str,
) -> None:
    keys = [f"local-{uuid.uuid4()}" for _ in range(suite_params["keys"])]
    reader, read = await _write_in_one_dc(
        sessions,
        _pick(datacenters, source),
        _pick(datacenters, target),
        table,
        keys,
        CL.LOCAL_QUORUM,
    )
    missing = keys
    try:
        async with asyncio.timeout(suite_params["convergence"]):
            while missing:
                found = await _read_all(reader, read, missing, CL.LOCAL_QUORUM)
                missing = [k for k, v in found.items() if v is None]
                if missing:
                    await asyncio.sleep(0.2)
    except TimeoutError:
        pytest.fail(
            f"{len(missing)} of {len(keys)} LOCAL_QUORUM writes through "
            f"{_pick(datacenters, source)} still not in {_pick(datacenters, target)} after "
            f"{suite_params['convergence']:g}s"
        )


async def _insert_if_absent(
    session: AsyncSession, insert: PreparedStatement, key: str, value: int, serial: int
) -> bool:
    """Whether ``value`` won the conditional insert of ``key``.

    A CAS write timeout leaves the outcome unknown; the documented way to learn it is a read
    at the serial level, which completes or rolls back the pending Paxos round first.
    """
    statement = insert.bind((key, value))
    statement.serial_consistency_level = serial
    try:
        return bool((await session.execute(statement)).one().applied)
    except WriteTimeout as exc:
        if exc.write_type != WriteType.CAS:
            raise
    row = (
        await session.execute(
            "SELECT v FROM kv WHERE k = %s", (key,), consistency_level=serial, timeout=30
        )
    ).one()
    return row is not None and row.v == value


@pytest.mark.parametrize("level", ["SERIAL", "LOCAL_SERIAL"])
async def test_conditional_write_from_the_second_dc(
    sessions: Mapping[str, AsyncSession], datacenters: list[str], table: str, level: str
) -> None:
    session = sessions[datacenters[1]]
    serial = CL.name_to_value[level]
    key = f"lwt-{level}-{uuid.uuid4()}"
    insert = await session.prepare(f"INSERT INTO {table} (k, v) VALUES (?, ?) IF NOT EXISTS")
    outcomes = [await _insert_if_absent(session, insert, key, value, serial) for value in (1, 2)]
    assert outcomes == [True, False], f"IF NOT EXISTS at {level} applied {outcomes}"
    row = (
        await sessions[datacenters[0]].execute(
            f"SELECT v FROM {table} WHERE k = %s", (key,), consistency_level=CL.SERIAL, timeout=30
        )
    ).one()
    assert row is not None
    assert row.v == 1, f"the first DC reads v={row.v} at SERIAL, the winning write was 1"

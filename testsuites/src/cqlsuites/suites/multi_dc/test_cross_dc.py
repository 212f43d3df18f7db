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

from cqlsuites import kit
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
    replication = await kit.replication_of(cql, keyspace)
    assert replication is not None, f"keyspace {keyspace} does not exist"
    for dc in datacenters:
        assert int(replication.get(dc, 0)) >= 1, f"{keyspace} has no replica in {dc}: {replication}"


async def _read_within(
    session: AsyncSession, read: Any, keys: list[str], patience: float
) -> dict[str, int | None]:
    """Read ``keys`` at LOCAL_QUORUM until all are found or ``patience`` seconds are up (0:
    read once); return what was found, None for a key still missing."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    found = await _read_all(session, read, keys, CL.LOCAL_QUORUM)
    while None in found.values() and loop.time() < deadline:
        await asyncio.sleep(0.2)
        missing = [k for k, v in found.items() if v is None]
        found |= await _read_all(session, read, missing, CL.LOCAL_QUORUM)
    return found


@pytest.mark.parametrize(("source", "target"), PAIRS)
@pytest.mark.parametrize("level", ["EACH_QUORUM", "LOCAL_QUORUM"])
async def test_write_through_one_dc_is_read_in_the_other(
    sessions: Mapping[str, AsyncSession],
    datacenters: list[str],
    table: str,
    suite_params: Mapping[str, Any],
    level: str,
    source: str,
    target: str,
) -> None:
    """EACH_QUORUM waits for a quorum in every DC, so the other DC reads the write at once;
    LOCAL_QUORUM only for its own, so the other DC gets it within ``convergence``."""
    writer_dc, reader_dc = _pick(datacenters, source), _pick(datacenters, target)
    keys = [f"{level}-{uuid.uuid4()}" for _ in range(suite_params["keys"])]
    write, _ = await _statements(sessions[writer_dc], table)
    _, read = await _statements(sessions[reader_dc], table)
    await asyncio.gather(
        *(
            sessions[writer_dc].execute(write, (k, i), consistency_level=CL.name_to_value[level])
            for i, k in enumerate(keys)
        )
    )
    patience = 0.0 if level == "EACH_QUORUM" else float(suite_params["convergence"])
    found = await _read_within(sessions[reader_dc], read, keys, patience)
    missing = [k for k, v in found.items() if v is None]
    assert not missing, (
        f"{len(missing)} of {len(keys)} {level} writes through {writer_dc} not visible at "
        f"LOCAL_QUORUM in {reader_dc} after {patience:g}s"
    )
    assert [found[k] for k in keys] == list(range(len(keys)))


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

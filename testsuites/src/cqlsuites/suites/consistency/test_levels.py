"""Every consistency level writes and reads when the replication can meet it, and raises
Unavailable with the required/alive replica counts when it cannot."""

from __future__ import annotations

import zlib
from collections.abc import Awaitable

import pytest
from aiocql import AsyncResult, AsyncSession
from cassandra import Unavailable
from cassandra.cluster import NoHostAvailable
from cassandra.query import SimpleStatement

from .levels import LEVELS, Replicas, level, unavailable_of

pytestmark = pytest.mark.usefixtures("table")


async def _expect(
    request: Awaitable[AsyncResult], name: str, replicas: Replicas
) -> AsyncResult | None:
    """The result if ``name`` is achievable, else None after checking the Unavailable."""
    try:
        result = await request
    except Exception as exc:
        unavailable = unavailable_of(exc)
        if unavailable is None or replicas.meets(name):
            raise
        assert (unavailable.required_replicas, unavailable.alive_replicas) == (
            replicas.required(name),
            replicas.alive(name),
        ), f"{name} on {dict(replicas.per_dc)}: {unavailable}"
        return None
    assert replicas.meets(name), (
        f"{name} needs {replicas.required(name)} replicas but replication {dict(replicas.per_dc)} "
        f"offers {replicas.alive(name)}: the request should have raised Unavailable"
    )
    return result


def _key(name: str, offset: int) -> int:
    return offset + zlib.crc32(name.encode()) % 100_000


@pytest.mark.parametrize("name", LEVELS)
async def test_write_at_level(cql: AsyncSession, replicas: Replicas, name: str) -> None:
    key = _key(name, 0)
    write = SimpleStatement("INSERT INTO kv (k, v) VALUES (%s, %s)", consistency_level=level(name))
    if await _expect(cql.execute(write, (key, name)), name, replicas) is None:
        return
    read = SimpleStatement("SELECT v FROM kv WHERE k = %s", consistency_level=level("ALL"))
    row = (await cql.execute(read, (key,))).one()
    assert row is not None, f"a write acknowledged at {name} is missing at ALL"
    assert row.v == name


@pytest.mark.parametrize("name", LEVELS)
async def test_read_at_level(cql: AsyncSession, replicas: Replicas, name: str) -> None:
    key = _key(name, 1_000_000)
    write = SimpleStatement("INSERT INTO kv (k, v) VALUES (%s, %s)", consistency_level=level("ALL"))
    await cql.execute(write, (key, name))
    read = SimpleStatement("SELECT v FROM kv WHERE k = %s", consistency_level=level(name))
    result = await _expect(cql.execute(read, (key,)), name, replicas)
    if result is None:
        return
    row = result.one()
    assert row is not None, f"a row written at ALL was not found reading at {name}"
    assert row.v == name


@pytest.mark.parametrize("name", ["TWO", "THREE"])
async def test_unmeetable_level_raises_unavailable_with_counts(
    cql: AsyncSession, narrow: str, name: str
) -> None:
    write = SimpleStatement(
        f"INSERT INTO {narrow}.kv (k, v) VALUES (1, 'x')", consistency_level=level(name)
    )
    with pytest.raises((Unavailable, NoHostAvailable)) as caught:
        await cql.execute(write)
    unavailable = unavailable_of(caught.value)
    assert unavailable is not None, f"expected Unavailable, got {caught.value!r}"
    assert unavailable.required_replicas == {"TWO": 2, "THREE": 3}[name], unavailable
    assert unavailable.alive_replicas == 1, f"one replica is alive at RF 1: {unavailable}"
    assert unavailable.consistency == level(name), unavailable

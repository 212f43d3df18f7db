"""Counters (increments, decrements, 64-bit limits) and values as large as ``blobBytes``."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import pytest
from aiocql import AsyncSession


async def _counter(cql: AsyncSession, key: str) -> int | None:
    row = (await cql.execute("SELECT n FROM counters WHERE k = %s", (key,))).one()
    return None if row is None else int(row.n)


@pytest.mark.parametrize("mode", ["simple", "prepared"])
async def test_counter_increments_and_decrements(cql: AsyncSession, schema: str, mode: str) -> None:
    key = f"counter:{mode}"
    query = "UPDATE counters SET n = n + %s WHERE k = %s"
    statement = query if mode == "simple" else await cql.prepare(query.replace("%s", "?"))
    for delta in (5, 10, -3, -20):
        await cql.execute(statement, (delta, key))
    assert await _counter(cql, key) == -8, f"counter via {mode}: 5 + 10 - 3 - 20 != value read"


async def test_counter_reaches_64_bit_limits(cql: AsyncSession, schema: str) -> None:
    add = await cql.prepare("UPDATE counters SET n = n + ? WHERE k = ?")
    await cql.execute(add, (2**63 - 1, "counter:max"))
    await cql.execute(add, (-(2**63), "counter:min"))
    assert await _counter(cql, "counter:max") == 2**63 - 1
    assert await _counter(cql, "counter:min") == -(2**63)


@pytest.mark.parametrize("mode", ["simple", "prepared"])
@pytest.mark.parametrize("kind", ["blob", "text"])
async def test_large_value_round_trips(
    cql: AsyncSession, schema: str, suite_params: Mapping[str, Any], kind: str, mode: str
) -> None:
    size: int = suite_params["blobBytes"]
    rng = random.Random(size)
    blob = rng.randbytes(size)
    value: bytes | str = blob if kind == "blob" else blob.hex()[:size]
    key, col = f"large:{kind}:{mode}", f"v_{kind}"
    query = f"INSERT INTO scalars (k, {col}) VALUES (%s, %s)"
    statement = query if mode == "simple" else await cql.prepare(query.replace("%s", "?"))
    # idempotent: a replica slow to apply a large write gets a second chance (aiocql retries)
    await cql.execute(statement, (key, value), timeout=60, idempotent=True)
    row = (
        await cql.execute(f"SELECT {col} AS v FROM scalars WHERE k = %s", (key,), timeout=60)
    ).one()
    assert row is not None, f"the row with a {size}-byte {kind} is missing"
    assert len(row.v) == size, f"a {size}-byte {kind} via {mode} read back with {len(row.v)}"
    assert row.v == value, f"a {size}-byte {kind} via {mode} read back with different content"

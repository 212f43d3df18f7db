"""LOGGED, UNLOGGED and COUNTER batches apply every statement, over one or many partitions."""

from __future__ import annotations

import pytest
from aiocql import AsyncSession
from cassandra import InvalidRequest
from cassandra.query import BatchStatement, BatchType, SimpleStatement

pytestmark = pytest.mark.usefixtures("tables")


async def _rows(cql: AsyncSession, consistency: int, partitions: list[int]) -> dict[int, str]:
    query = await cql.prepare("SELECT p, c, v FROM kv WHERE p IN ?")
    rows = await cql.execute_all(query, (partitions,), consistency_level=consistency)
    return {(r.p * 1000 + r.c): r.v for r in rows}


@pytest.mark.parametrize("kind", ["LOGGED", "UNLOGGED"])
@pytest.mark.parametrize("spread", ["single-partition", "cross-partition"])
async def test_batch_applies_every_statement(
    cql: AsyncSession, consistency: int, statements: int, kind: str, spread: str
) -> None:
    base = {"LOGGED": 100, "UNLOGGED": 200}[kind] + (0 if spread == "single-partition" else 50)
    insert = await cql.prepare("INSERT INTO kv (p, c, v) VALUES (?, ?, ?)")
    batch = BatchStatement(batch_type=getattr(BatchType, kind), consistency_level=consistency)
    expected: dict[int, str] = {}
    for i in range(statements):
        p = base if spread == "single-partition" else base + 1 + i
        batch.add(insert, (p, i, f"{kind}-{i}"))
        expected[p * 1000 + i] = f"{kind}-{i}"
    await cql.execute_batch(batch)
    partitions = sorted({key // 1000 for key in expected})
    assert await _rows(cql, consistency, partitions) == expected, (
        f"a {spread} {kind} batch of {statements} inserts did not leave exactly those rows"
    )


async def test_counter_batch_adds_every_increment(cql: AsyncSession, consistency: int) -> None:
    update = await cql.prepare("UPDATE hits SET n = n + ?, m = m + ? WHERE p = ?")
    for _ in range(2):
        batch = BatchStatement(batch_type=BatchType.COUNTER, consistency_level=consistency)
        for p in range(1, 6):
            batch.add(update, (p, -p, p))
        await cql.execute_batch(batch)
    rows = await cql.execute_all(
        SimpleStatement(
            "SELECT p, n, m FROM hits WHERE p IN (1, 2, 3, 4, 5)", consistency_level=consistency
        )
    )
    assert {r.p: (r.n, r.m) for r in rows} == {p: (2 * p, -2 * p) for p in range(1, 6)}, (
        "two COUNTER batches did not add each increment exactly twice"
    )


async def test_counter_update_refused_in_logged_batch(cql: AsyncSession) -> None:
    batch = BatchStatement(batch_type=BatchType.LOGGED)
    batch.add("UPDATE hits SET n = n + 1 WHERE p = 90")
    with pytest.raises(InvalidRequest, match=r"(?i)counter"):
        await cql.execute_batch(batch)


async def test_regular_write_refused_in_counter_batch(cql: AsyncSession) -> None:
    batch = BatchStatement(batch_type=BatchType.COUNTER)
    batch.add("UPDATE hits SET n = n + 1 WHERE p = 91")
    batch.add("INSERT INTO kv (p, c, v) VALUES (91, 0, 'x')")
    with pytest.raises(InvalidRequest, match=r"(?i)counter"):
        await cql.execute_batch(batch)
    row = (await cql.execute("SELECT n FROM hits WHERE p = 91")).one()
    assert row is None, f"the refused COUNTER batch still incremented the counter to {row.n}"

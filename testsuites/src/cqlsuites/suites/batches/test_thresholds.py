"""The server's batch-size and unlogged-batch warnings, and its batch-size fail threshold.

Cassandra 5.0 defaults: warn above ``batch_size_warn_threshold`` (5 KiB), refuse above
``batch_size_fail_threshold`` (50 KiB), warn when an unlogged batch covers more than
``unlogged_batch_across_partitions_warn_threshold`` (10) partitions. Size checks apply only to
batches that touch more than one partition.
"""

from __future__ import annotations

import pytest
from aiocql import AsyncSession
from cassandra import InvalidRequest
from cassandra.query import BatchStatement, BatchType

pytestmark = pytest.mark.usefixtures("tables")

WARN_BYTES = 5 * 1024
FAIL_BYTES = 50 * 1024


async def _batch(
    cql: AsyncSession, kind: int, partitions: list[int], value_bytes: int
) -> BatchStatement:
    insert = await cql.prepare("INSERT INTO kv (p, c, v) VALUES (?, ?, ?)")
    batch = BatchStatement(batch_type=kind)
    for i, p in enumerate(partitions):
        batch.add(insert, (p, i, "x" * value_bytes))
    return batch


async def test_size_warning_surfaced_as_driver_warning(
    cql: AsyncSession, driver_warnings: list[str]
) -> None:
    batch = await _batch(cql, BatchType.LOGGED, list(range(500, 510)), 2 * WARN_BYTES // 10)
    result = await cql.execute_batch(batch)
    size_warnings = [w for w in result.warnings or [] if "exceeding specified threshold" in w]
    assert size_warnings, f"no batch-size warning on the result; server warnings: {result.warnings}"
    assert "kv" in size_warnings[0], f"the warning does not name the table: {size_warnings[0]}"
    logged = [m for m in driver_warnings if "exceeding specified threshold" in m]
    assert logged, f"the driver logged no warning for it; driver warnings: {driver_warnings}"


async def test_small_batch_has_no_warning(cql: AsyncSession) -> None:
    batch = await _batch(cql, BatchType.LOGGED, list(range(520, 525)), 16)
    result = await cql.execute_batch(batch)
    assert not result.warnings, f"a 5-statement batch of tiny rows drew warnings: {result.warnings}"


async def test_single_partition_batch_is_never_size_checked(cql: AsyncSession) -> None:
    batch = await _batch(cql, BatchType.UNLOGGED, [530] * 20, FAIL_BYTES // 10)
    result = await cql.execute_batch(batch)
    assert not result.warnings, f"a single-partition batch drew warnings: {result.warnings}"
    count = (await cql.execute("SELECT count(*) AS n FROM kv WHERE p = 530")).one().n
    assert count == 20


async def test_unlogged_batch_over_many_partitions_warns(
    cql: AsyncSession, statements: int, driver_warnings: list[str]
) -> None:
    batch = await _batch(cql, BatchType.UNLOGGED, list(range(540, 540 + statements)), 8)
    result = await cql.execute_batch(batch)
    spread = [w for w in result.warnings or [] if "Unlogged batch covering" in w]
    assert spread, f"no unlogged-batch warning for {statements} partitions: {result.warnings}"
    assert f"covering {statements} partitions" in spread[0], spread[0]
    assert any("Unlogged batch covering" in m for m in driver_warnings), driver_warnings


async def test_fail_threshold_refuses_the_batch(cql: AsyncSession) -> None:
    partitions = list(range(600, 620))
    batch = await _batch(cql, BatchType.LOGGED, partitions, 2 * FAIL_BYTES // len(partitions))
    with pytest.raises(InvalidRequest, match="Batch too large"):
        await cql.execute_batch(batch)
    select = await cql.prepare("SELECT p FROM kv WHERE p IN ?")
    leaked = (await cql.execute(select, (partitions,))).one()
    assert leaked is None, f"a refused batch still wrote partition {leaked.p}"

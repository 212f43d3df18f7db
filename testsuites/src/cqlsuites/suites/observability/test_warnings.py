"""Server warnings reach the client: on the result and in the driver's log."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from aiocql import AsyncSession
from cassandra.query import BatchStatement

from .conftest import ServerWarnings

pytestmark = pytest.mark.usefixtures("tables")


async def test_tombstone_warning(
    cql: AsyncSession, suite_params: Mapping[str, Any], server_warnings: ServerWarnings
) -> None:
    count = int(suite_params["tombstones"])
    # Binding None writes a cell tombstone: one per row, without a separate delete.
    insert = await cql.prepare("INSERT INTO rows (p, c, v) VALUES (1, ?, ?)")
    await cql.execute_concurrent([(insert, (c, None)) for c in range(count)], concurrency=64)
    result = await cql.execute("SELECT v FROM rows WHERE p = 1", fetch_size=count + 100)
    assert len(result.rows) == count
    found = [w for w in result.warnings or [] if "tombstone" in w]
    assert found, f"reading {count} tombstones drew no warning; server warnings: {result.warnings}"
    assert f"{count} tombstone" in found[0], f"the warning miscounts: {found[0]}"
    assert any("tombstone" in w for w in server_warnings.logged), server_warnings.logged


async def test_batch_size_warning(cql: AsyncSession, server_warnings: ServerWarnings) -> None:
    batch = BatchStatement()
    for k in range(100, 110):  # ten partitions of 1 KiB: over the 5 KiB warning threshold
        batch.add("INSERT INTO kv (k, v) VALUES (%s, %s)", (k, "x" * 1024))
    result = await cql.execute_batch(batch)
    assert any("exceeding specified threshold" in w for w in result.warnings or []), (
        f"a ~10 KiB multi-partition batch drew no size warning: {result.warnings}"
    )
    assert any("exceeding specified threshold" in w for w in server_warnings.logged), (
        f"the driver did not log it: {server_warnings.logged}"
    )


async def test_clean_requests_carry_no_warning(
    cql: AsyncSession, server_warnings: ServerWarnings
) -> None:
    await cql.execute("INSERT INTO kv (k, v) VALUES (120, 'small')")
    result = await cql.execute("SELECT v FROM kv WHERE k = 120")
    assert not result.warnings, f"a plain point read drew warnings {result.warnings}"
    assert not server_warnings.logged, f"the driver logged warnings {server_warnings.logged}"

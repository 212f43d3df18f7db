"""TTL expiry, tombstones that keep deleted data deleted, and last-write-wins by timestamp."""

from __future__ import annotations

import asyncio

import pytest
from aiocql import AsyncSession

pytestmark = pytest.mark.usefixtures("tables")


async def _v(cql: AsyncSession, k: int) -> str | None:
    row = (await cql.execute("SELECT v FROM kv WHERE k = %s", (k,))).one()
    return None if row is None else row.v


async def test_ttl_expires_the_row(cql: AsyncSession) -> None:
    await cql.execute("INSERT INTO kv (k, v) VALUES (100, 'brief') USING TTL 1")
    await cql.execute("INSERT INTO kv (k, v) VALUES (101, 'stays')")
    assert await _v(cql, 100) == "brief", "a row with TTL 1 vanished before its second was up"
    await asyncio.sleep(2.2)  # TTLs count whole seconds
    assert await _v(cql, 100) is None, "a row with TTL 1 is still readable after 2 s"
    assert await _v(cql, 101) == "stays", "a row without TTL expired"


async def test_ttl_is_reported_and_counts_down(cql: AsyncSession) -> None:
    await cql.execute("INSERT INTO kv (k, v) VALUES (102, 'x') USING TTL 500")
    ttl = (await cql.execute("SELECT ttl(v) AS t FROM kv WHERE k = 102")).one().t
    assert ttl is not None, "ttl(v) is null for a cell written USING TTL 500"
    assert 490 <= ttl <= 500, f"ttl(v) is {ttl} right after writing TTL 500"


async def test_deleted_data_stays_deleted(cql: AsyncSession) -> None:
    await cql.execute("INSERT INTO kv (k, v) VALUES (110, 'old') USING TIMESTAMP 1000")
    await cql.execute("DELETE FROM kv USING TIMESTAMP 2000 WHERE k = 110")
    # A late-arriving write older than the tombstone (a replayed hint, a slow client).
    await cql.execute("INSERT INTO kv (k, v) VALUES (110, 'resurrected') USING TIMESTAMP 1500")
    assert await _v(cql, 110) is None, "a write older than the tombstone resurrected the row"
    await cql.execute("INSERT INTO kv (k, v) VALUES (110, 'new') USING TIMESTAMP 2500")
    assert await _v(cql, 110) == "new", "a write newer than the tombstone is not visible"


async def test_using_timestamp_orders_writes(cql: AsyncSession) -> None:
    await cql.execute("INSERT INTO kv (k, v) VALUES (120, 'later') USING TIMESTAMP 2000")
    await cql.execute("INSERT INTO kv (k, v) VALUES (120, 'earlier') USING TIMESTAMP 1000")
    assert await _v(cql, 120) == "later", "the write with the older timestamp won"
    row = (await cql.execute("SELECT writetime(v) AS w FROM kv WHERE k = 120")).one()
    assert row.w == 2000, f"writetime is {row.w}, the winning write had timestamp 2000"


async def test_delete_older_than_the_data_deletes_nothing(cql: AsyncSession) -> None:
    await cql.execute("INSERT INTO kv (k, v) VALUES (130, 'kept') USING TIMESTAMP 5000")
    await cql.execute("DELETE FROM kv USING TIMESTAMP 4000 WHERE k = 130")
    assert await _v(cql, 130) == "kept", "a delete older than the data removed it"


async def test_range_delete_removes_only_the_slice(cql: AsyncSession) -> None:
    insert = await cql.prepare("INSERT INTO rows (p, c, v) VALUES (140, ?, 'x')")
    await cql.execute_concurrent([(insert, (c,)) for c in range(20)], concurrency=20)
    await cql.execute("DELETE FROM rows WHERE p = 140 AND c >= 5 AND c < 15")
    left = [r.c for r in await cql.execute_all("SELECT c FROM rows WHERE p = 140")]
    assert left == [*range(5), *range(15, 20)], f"after deleting [5, 15) the partition has {left}"


async def test_paging_over_tombstones(cql: AsyncSession) -> None:
    insert = await cql.prepare("INSERT INTO rows (p, c, v) VALUES (150, ?, 'x')")
    delete = await cql.prepare("DELETE FROM rows WHERE p = 150 AND c = ?")
    await cql.execute_concurrent([(insert, (c,)) for c in range(600)], concurrency=64)
    await cql.execute_concurrent(
        [(delete, (c,)) for c in range(600) if c % 3 or 200 <= c < 400], concurrency=64
    )
    expected = [c for c in range(600) if not (c % 3 or 200 <= c < 400)]
    seen: list[int] = []
    async with cql.stream("SELECT c FROM rows WHERE p = 150", page_size=25) as pages:
        async for page in pages.pages():
            assert len(page) <= 25, f"a page held {len(page)} rows, more than the page size"
            seen.extend(r.c for r in page)
    assert seen == expected, (
        f"paging over {600 - len(expected)} tombstones returned {len(seen)} rows, "
        f"expected {len(expected)}"
    )

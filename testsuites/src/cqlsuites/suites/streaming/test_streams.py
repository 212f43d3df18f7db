"""Streams over time: resumed from a paging state, many at once, abandoned, and very large."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from aiocql import AsyncCluster, AsyncSession
from cassandra.query import BatchStatement, BatchType

QUERY = "SELECT c FROM series WHERE p = 0"


@pytest.mark.parametrize("where", ["same session", "another session"])
async def test_resume_from_a_paging_state(
    cql: AsyncSession, cql_cluster: AsyncCluster, keyspace: str, rows: int, where: str
) -> None:
    async with cql.stream(QUERY, page_size=25, max_pages=2) as first:
        head = [r.c async for r in first]
        state = first.paging_state
    assert state is not None
    other = cql if where == "same session" else await cql_cluster.connect(keyspace)
    try:
        async with other.stream(QUERY, page_size=25, paging_state=state) as rest:
            tail = [r.c async for r in rest]
    finally:
        if other is not cql:
            await other.close()
    assert head == list(range(50))
    assert tail == list(range(50, rows)), f"resuming in the {where} gave {tail[:3]}…"


async def test_many_concurrent_streams(cql: AsyncSession, rows: int) -> None:
    async def drain(p: int, page_size: int) -> list[str]:
        async with cql.stream(
            "SELECT v FROM series WHERE p = %s", (p,), page_size=page_size
        ) as stream:
            return [r.v async for r in stream]

    jobs = [(p, 10 + 7 * n) for n in range(3) for p in range(10)]
    results = await asyncio.gather(*(drain(p, size) for p, size in jobs))
    for (p, size), got in zip(jobs, results, strict=True):
        assert got == [f"{p}:{c}" for c in range(rows)], f"stream of partition {p} by {size} mixed"


@pytest.mark.parametrize("prefetch", [0, 1, 3])
async def test_abandoned_stream_stops_fetching(cql: AsyncSession, rows: int, prefetch: int) -> None:
    stream = cql.stream(QUERY, page_size=10, prefetch=prefetch)
    async with stream:
        async for _ in stream:
            break  # the consumer walks away after one row
        await asyncio.sleep(0.5)
        fetched = stream.page_requests
        await asyncio.sleep(0.5)
        assert stream.page_requests == fetched, "an abandoned stream kept fetching pages"
    # the page being read, plus at most `prefetch` ahead, and one the consumer may have asked for
    assert fetched <= 2 + prefetch, f"prefetch={prefetch}: {fetched} pages fetched for one row"
    assert stream.closed


def _rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def _fill_large(cql: AsyncSession, total: int) -> None:
    # idempotent, batches and all: a replica too slow under load gets a second chance
    insert = await cql.prepare("INSERT INTO large (p, c, v) VALUES (0, ?, ?)")
    insert.is_idempotent = True
    batches = []
    for start in range(0, total, 200):
        batch = BatchStatement(batch_type=BatchType.UNLOGGED)
        batch.is_idempotent = True
        for c in range(start, min(start + 200, total)):
            batch.add(insert, (c, f"{c:08d}" * 12))
        batches.append(batch)

    async def worker(mine: list[BatchStatement]) -> None:
        for batch in mine:
            await cql.execute_batch(batch, timeout=60)

    await asyncio.gather(*(worker(batches[i::4]) for i in range(4)))


async def test_large_result_in_flat_memory(
    cql: AsyncSession,
    suite_params: Mapping[str, Any],
    record_testsuite_property: Callable[[str, object], None],
) -> None:
    total: int = suite_params["rows"]
    bound: float = suite_params["rssGrowthMiB"]
    await cql.execute(
        "CREATE TABLE IF NOT EXISTS large (p int, c int, v text, PRIMARY KEY (p, c))", timeout=60
    )
    await _fill_large(cql, total)
    base = _rss_bytes()
    peak = base
    expected = 0

    def sample(_: Any) -> None:
        nonlocal peak
        peak = max(peak, _rss_bytes())

    async with cql.stream(
        "SELECT c, v FROM large WHERE p = 0", page_size=5000, on_page=sample, page_timeout=60
    ) as stream:
        async for row in stream:
            assert row.c == expected, f"row {expected} of the large result came as {row.c}"
            expected += 1
    growth = (peak - base) / 2**20
    record_testsuite_property("rssGrowthMiB", round(growth, 2))
    assert expected == total, f"the large result streamed {expected} of {total} rows"
    assert growth <= bound, (
        f"resident memory grew {growth:.1f} MiB while streaming {total} rows "
        f"(bound rssGrowthMiB={bound})"
    )

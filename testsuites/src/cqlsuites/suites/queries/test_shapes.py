"""GROUP BY and aggregates, time series with TTL, and a wide partition."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pytest
from aiocql import AsyncSession

pytestmark = pytest.mark.usefixtures("tables")


async def _sales(cql: AsyncSession) -> dict[int, list[int]]:
    amounts = {shop: [shop * 10 + day for day in range(1, 6)] for shop in (1, 2, 3)}
    insert = await cql.prepare("INSERT INTO sales (shop, day, amount) VALUES (?, ?, ?)")
    await cql.execute_concurrent(
        [
            (insert, (shop, day, a))
            for shop, day_amounts in amounts.items()
            for day, a in enumerate(day_amounts, 1)
        ]
    )
    return amounts


async def test_group_by_partition_with_aggregates(cql: AsyncSession) -> None:
    amounts = await _sales(cql)
    rows = await cql.execute_all(
        "SELECT shop, count(*) AS n, sum(amount) AS total, min(amount) AS low, "
        "max(amount) AS high FROM sales GROUP BY shop"
    )
    got = {r.shop: (r.n, r.total, r.low, r.high) for r in rows}
    want = {s: (len(a), sum(a), min(a), max(a)) for s, a in amounts.items()}
    assert got == want, f"GROUP BY shop gave {got}, expected {want}"


async def test_aggregates_over_one_partition(cql: AsyncSession) -> None:
    amounts = (await _sales(cql))[2]
    row = (
        await cql.execute(
            "SELECT count(*) AS n, avg(amount) AS mean, sum(amount) AS total FROM sales "
            "WHERE shop = 2 AND day >= 2"
        )
    ).one()
    tail = amounts[1:]
    assert (row.n, row.total) == (len(tail), sum(tail)), row
    assert row.mean == sum(tail) // len(tail), f"avg over int is {row.mean}"


async def test_time_series_latest_first_with_default_ttl(cql: AsyncSession) -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    insert = await cql.prepare("INSERT INTO events (sensor, at, reading) VALUES (7, ?, ?)")
    await cql.execute_concurrent(
        [(insert, (start + dt.timedelta(minutes=m), float(m))) for m in range(100)]
    )
    await cql.execute(
        "INSERT INTO events (sensor, at, reading) VALUES (7, %s, -1.0) USING TTL 60",
        (start - dt.timedelta(days=1),),
    )
    latest = await cql.execute_all(
        "SELECT reading, ttl(reading) AS t FROM events WHERE sensor = 7 LIMIT 5"
    )
    assert [r.reading for r in latest] == [99.0, 98.0, 97.0, 96.0, 95.0], (
        "CLUSTERING ORDER BY (at DESC) did not return the latest readings first"
    )
    assert all(r.t is not None and 590 <= r.t <= 600 for r in latest), (
        f"rows written without TTL did not get the table's default_time_to_live 600: "
        f"{[r.t for r in latest]}"
    )
    window = await cql.execute_all(
        "SELECT reading FROM events WHERE sensor = 7 AND at >= %s AND at < %s",
        (start + dt.timedelta(minutes=10), start + dt.timedelta(minutes=13)),
    )
    assert [r.reading for r in window] == [12.0, 11.0, 10.0], "the time-window slice is wrong"
    oldest = (
        await cql.execute(
            "SELECT ttl(reading) AS t FROM events WHERE sensor = 7 ORDER BY at ASC LIMIT 1"
        )
    ).one()
    assert oldest.t is not None, "a row written USING TTL 60 has no TTL"
    assert oldest.t <= 60, f"USING TTL 60 did not override the table default: ttl {oldest.t}"


async def test_wide_partition(cql: AsyncSession, suite_params: Mapping[str, Any]) -> None:
    count = int(suite_params["partitionRows"])
    insert = await cql.prepare("INSERT INTO rows (p, c, v) VALUES (200, ?, ?)")
    await cql.execute_concurrent([(insert, (c, f"row {c}")) for c in range(count)], concurrency=128)
    total = (await cql.execute("SELECT count(*) AS n FROM rows WHERE p = 200", timeout=60)).one().n
    assert total == count, f"the wide partition holds {total} rows, {count} were written"
    seen = 0
    async with cql.stream("SELECT c FROM rows WHERE p = 200", page_size=1000) as rows:
        async for row in rows:
            assert row.c == seen, f"row {seen} came back as {row.c}: clustering order broken"
            seen += 1
    assert seen == count
    middle = count // 2
    sliced = await cql.execute_all(
        "SELECT c FROM rows WHERE p = 200 AND c > %s AND c <= %s", (middle, middle + 10)
    )
    assert [r.c for r in sliced] == list(range(middle + 1, middle + 11)), "a slice was wrong"

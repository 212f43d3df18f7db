"""Reads, writes and both at once, all issued together, every result checked against its key."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from aiocql import AsyncSession
from cassandra import InvalidRequest

from .conftest import prepare_idempotent, value_of

# Tests about something other than volume use this many keys (the params set the volume tests).
SAMPLE = 300


async def _read(cql: AsyncSession, select: Any, key: int) -> tuple[int, str | None]:
    row = (await cql.execute(select, (key,))).one()
    return key, None if row is None else row.v


async def test_concurrent_reads_each_get_their_row(cql: AsyncSession, filled: int) -> None:
    select = await prepare_idempotent(cql, "SELECT v FROM items WHERE k = ?")
    results = await asyncio.gather(*(_read(cql, select, k) for k in range(filled)))
    wrong = [(k, v) for k, v in results if v != value_of(k)]
    assert not wrong, f"{len(wrong)} of {filled} concurrent reads got another row, e.g. {wrong[:3]}"


async def test_concurrent_writes_all_land(
    cql: AsyncSession, filled: int, suite_params: Mapping[str, Any]
) -> None:
    writes: int = suite_params["writes"]
    insert = await prepare_idempotent(cql, "INSERT INTO written (k, v) VALUES (?, ?)")
    await asyncio.gather(*(cql.execute(insert, (k, value_of(k))) for k in range(writes)))
    select = await prepare_idempotent(cql, "SELECT v FROM written WHERE k = ?")
    results = await asyncio.gather(*(_read(cql, select, k) for k in range(writes)))
    missing = [k for k, v in results if v != value_of(k)]
    assert not missing, (
        f"{len(missing)} of {writes} concurrent writes are not readable: {missing[:5]}"
    )


async def test_mixed_reads_and_writes(
    cql: AsyncSession, filled: int, suite_params: Mapping[str, Any]
) -> None:
    writes: int = suite_params["writes"]
    base = 1_000_000
    insert = await prepare_idempotent(cql, "INSERT INTO written (k, v) VALUES (?, ?)")
    select = await prepare_idempotent(cql, "SELECT v FROM items WHERE k = ?")
    work: list[Any] = []
    for i in range(max(filled, writes)):
        if i < filled:
            work.append(_read(cql, select, i))
        if i < writes:
            work.append(cql.execute(insert, (base + i, value_of(base + i))))
    results = await asyncio.gather(*work)
    reads = [r for r in results if isinstance(r, tuple)]
    assert len(reads) == filled
    wrong = [(k, v) for k, v in reads if v != value_of(k)]
    assert not wrong, f"reads mixed with writes got other rows: {wrong[:3]}"
    check = await prepare_idempotent(cql, "SELECT v FROM written WHERE k = ?")
    written = await asyncio.gather(*(_read(cql, check, base + i) for i in range(writes)))
    assert all(v == value_of(k) for k, v in written), "a write issued among reads was lost"


async def test_shared_prepared_statement_under_concurrency(cql: AsyncSession, filled: int) -> None:
    text = "SELECT v, n FROM items WHERE k = ?"
    prepared = await asyncio.gather(*(prepare_idempotent(cql, text) for _ in range(50)))
    assert all(p is prepared[0] for p in prepared), "concurrent prepares gave distinct statements"
    keys = range(min(filled, SAMPLE))
    results = await asyncio.gather(*(cql.execute(prepared[0], (k,)) for k in keys))
    wrong = [k for k, r in enumerate(results) if (r.one().n, r.one().v) != (k, value_of(k))]
    assert not wrong, f"bound values crossed between executions of one statement: {wrong[:5]}"


async def test_results_match_requests_across_result_shapes(cql: AsyncSession, filled: int) -> None:
    by_v = await prepare_idempotent(cql, "SELECT v FROM items WHERE k = ?")
    by_n = await prepare_idempotent(cql, "SELECT n, k FROM items WHERE k = ?")
    requests = [(k, by_v if k % 2 else by_n) for k in range(min(filled, SAMPLE))]
    results = await asyncio.gather(*(cql.execute(stmt, (k,)) for k, stmt in requests))
    for (k, stmt), result in zip(requests, results, strict=True):
        row = result.one()
        if stmt is by_v:
            assert result.column_names == ["v"], f"key {k}: columns {result.column_names}"
            assert row.v == value_of(k), f"key {k} got the value of another request: {row.v}"
        else:
            assert result.column_names == ["n", "k"], f"key {k}: columns {result.column_names}"
            assert (row.n, row.k) == (k, k), f"key {k} got row {row}"


async def test_failures_go_only_to_their_requests(cql: AsyncSession, filled: int) -> None:
    good = await prepare_idempotent(cql, "SELECT v FROM items WHERE k = ?")
    keys = range(min(filled, SAMPLE))
    calls = [
        cql.execute("SELECT v FROM no_such_table WHERE k = %s", (k,))
        if k % 10 == 0
        else cql.execute(good, (k,))
        for k in keys
    ]
    results = await asyncio.gather(*calls, return_exceptions=True)
    for k, result in zip(keys, results, strict=True):
        if k % 10 == 0:
            assert isinstance(result, InvalidRequest), (
                f"key {k}: expected InvalidRequest, got {result!r}"
            )
        else:
            assert not isinstance(result, BaseException), f"key {k} failed: {result!r}"
            assert result.one().v == value_of(k)
    assert cql.in_flight == 0


async def test_concurrent_counter_increments_are_not_lost(cql: AsyncSession) -> None:
    await cql.execute("CREATE TABLE IF NOT EXISTS hits (k int PRIMARY KEY, n counter)", timeout=60)
    bump = await cql.prepare("UPDATE hits SET n = n + ? WHERE k = 1")
    await asyncio.gather(*(cql.execute(bump, (d,)) for d in range(1, 101)))
    row = (await cql.execute("SELECT n FROM hits WHERE k = 1")).one()
    assert row is not None
    assert row.n == sum(range(1, 101)), f"100 concurrent increments summed to {row.n}"


@pytest.mark.parametrize("window", ["param", "one"])
async def test_in_flight_window_is_respected(
    cql_cluster: Any, keyspace: str, filled: int, suite_params: Mapping[str, Any], window: str
) -> None:
    limit: int = suite_params["inFlight"] if window == "param" else 1
    session: AsyncSession = await cql_cluster.connect(keyspace, max_in_flight=limit)
    try:
        select = await prepare_idempotent(session, "SELECT v FROM items WHERE k = ?")
        requests = min(filled, limit * 10)
        results = await asyncio.gather(*(_read(session, select, k) for k in range(requests)))
        high = session.stats().in_flight_high_water
    finally:
        await session.close()
    assert all(v == value_of(k) for k, v in results), (
        "a request that waited for a slot got a wrong row"
    )
    assert high <= limit, f"{high} requests were in flight at once, over the window of {limit}"
    assert high == limit, f"{requests} requests at once never filled the window of {limit} ({high})"


async def test_execute_concurrent_bounds_its_concurrency(
    cql_cluster: Any, keyspace: str, filled: int
) -> None:
    session: AsyncSession = await cql_cluster.connect(keyspace)
    try:
        select = await prepare_idempotent(session, "SELECT v FROM items WHERE k = ?")
        keys = range(min(filled, SAMPLE))
        results = await session.execute_concurrent([(select, (k,)) for k in keys], concurrency=16)
        high = session.stats().in_flight_high_water
    finally:
        await session.close()
    assert [r.one().v for r in results] == [value_of(k) for k in keys], "order lost"
    assert high <= 16, f"execute_concurrent(concurrency=16) had {high} requests in flight"

"""aiocql's counters, listeners and latency histogram agree with the requests actually made."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import pytest
from aiocql import AsyncSession, RequestEvent
from aiocql.prometheus import register_session
from cassandra import InvalidRequest
from cassandra.protocol import SyntaxException
from prometheus_client import CollectorRegistry


async def test_request_counters_match(fresh: AsyncSession, suite_params: Mapping[str, Any]) -> None:
    count = int(suite_params["requests"])
    for k in range(count):
        await fresh.execute("INSERT INTO kv (k, v) VALUES (%s, 'c')", (k,))
    stats = fresh.stats()
    assert (stats.requests, stats.completed, stats.errors) == (count, count, 0), stats
    assert stats.latency.count == count, f"the histogram holds {stats.latency.count} of {count}"
    assert stats.in_flight == 0, f"{stats.in_flight} requests still counted in flight"


async def test_latency_histogram_agrees_with_the_clock(
    fresh: AsyncSession, suite_params: Mapping[str, Any]
) -> None:
    walls = []
    for k in range(int(suite_params["requests"])):
        start = time.perf_counter()
        await fresh.execute("SELECT v FROM kv WHERE k = %s", (k,))
        walls.append(time.perf_counter() - start)
    latency = fresh.stats().latency
    assert latency.count == len(walls)
    # Each recorded latency lies inside the await that measured it.
    assert latency.max <= max(walls), f"histogram max {latency.max} > slowest await {max(walls)}"
    assert latency.sum <= sum(walls), f"histogram sum {latency.sum} > awaited total {sum(walls)}"
    assert 0 < latency.percentile(50) <= latency.percentile(99) <= latency.max
    cumulative = latency.buckets()
    assert cumulative[-1][1] == len(walls), "the cumulative buckets do not add up to the count"
    ordered = sorted(walls)
    median_wall = ordered[len(ordered) // 2]
    # Log-linear buckets are ~19% wide; p50 must not exceed the awaited median by more.
    assert latency.percentile(50) <= median_wall * 1.25, (
        f"p50 {latency.percentile(50)} vs awaited median {median_wall}"
    )


async def test_errors_counted_by_kind(fresh: AsyncSession) -> None:
    for _ in range(3):
        with pytest.raises(InvalidRequest):
            await fresh.execute("SELECT nope FROM kv WHERE k = 1")
    with pytest.raises(SyntaxException):
        await fresh.execute("SELEKT 1")
    await fresh.execute("SELECT v FROM kv WHERE k = 1")
    stats = fresh.stats()
    assert stats.errors == 4, stats
    assert stats.errors_by_kind == {"InvalidRequest": 3, "SyntaxException": 1}, stats.errors_by_kind
    assert (stats.requests, stats.completed) == (5, 1), stats


async def test_listener_sees_every_request(fresh: AsyncSession) -> None:
    events: list[RequestEvent] = []
    remove = fresh.add_listener(events.append)
    try:
        insert = await fresh.prepare("INSERT INTO rows (p, c, v) VALUES (2, ?, 'x')")
        await fresh.execute_concurrent([(insert, (c,)) for c in range(30)], concurrency=8)
        rows = await fresh.execute_all("SELECT c FROM rows WHERE p = 2", page_size=10)
        with pytest.raises(InvalidRequest):
            await fresh.execute("SELECT nope FROM rows")
    finally:
        remove()
    kinds = [(e.kind, e.outcome) for e in events]
    assert kinds.count(("prepare", "ok")) == 1, kinds
    inserts = [e for e in events if e.kind != "prepare" and e.query.startswith("INSERT")]
    assert [(e.kind, e.outcome) for e in inserts] == [("execute", "ok")] * 30, kinds
    pages = [e for e in events if e.kind in ("page", "execute") and "SELECT c" in e.query]
    assert sum(e.rows for e in pages) == len(rows) == 30, [(e.kind, e.rows) for e in pages]
    failed = [e for e in events if e.outcome == "error"]
    assert [(e.kind, e.error_kind) for e in failed] == [("execute", "InvalidRequest")]
    assert all(e.latency > 0 for e in events), "an event has no latency"


async def test_pages_and_rows_counted(fresh: AsyncSession) -> None:
    insert = await fresh.prepare("INSERT INTO rows (p, c, v) VALUES (3, ?, 'x')")
    await fresh.execute_concurrent([(insert, (c,)) for c in range(45)])
    before = fresh.stats()
    async with fresh.stream("SELECT c FROM rows WHERE p = 3", page_size=10) as stream:
        seen = [row.c async for row in stream]
    after = fresh.stats()
    assert len(seen) == 45
    assert after.pages - before.pages == 5, (
        f"45 rows in pages of 10 counted {after.pages - before.pages} pages"
    )
    assert after.rows - before.rows == 45, f"counted {after.rows - before.rows} rows of 45"


async def test_in_flight_high_water(fresh: AsyncSession) -> None:
    select = await fresh.prepare("SELECT v FROM kv WHERE k = ?")
    await asyncio.gather(*(fresh.execute(select, (k,)) for k in range(64)))
    stats = fresh.stats()
    assert 2 <= stats.in_flight_high_water <= 64, stats.in_flight_high_water
    assert stats.in_flight == 0


async def test_prometheus_exposition_matches_stats(fresh: AsyncSession) -> None:
    for k in range(20):
        await fresh.execute("SELECT v FROM kv WHERE k = %s", (k,))
    with pytest.raises(InvalidRequest):
        await fresh.execute("SELECT nope FROM kv")
    registry = CollectorRegistry()
    register_session(fresh, registry, name="observability")
    stats = fresh.stats()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for metric in registry.collect()
        for s in metric.samples
    }
    requests = [v for (name, _), v in samples.items() if name == "aiocql_requests_total"]
    assert requests == [stats.requests], f"aiocql_requests_total {requests}, stats {stats.requests}"
    errors = {
        dict(labels).get("kind"): v
        for (name, labels), v in samples.items()
        if name == "aiocql_errors_total"
    }
    assert errors.get("InvalidRequest") == 1, f"aiocql_errors_total samples: {errors}"


async def test_check_host_reaches_each_node(fresh: AsyncSession) -> None:
    hosts = list(fresh.driver_session.get_pool_state())
    assert hosts, "the session is connected to no node"
    for host in hosts:
        health = await fresh.check_host(host, timeout=5)
        assert health.up, f"{host.address} is connected but check_host says down: {health.error!r}"
        assert health.release_version, f"{host.address} reported no release_version"


async def test_cancelled_request_counted(fresh: AsyncSession) -> None:
    events: list[RequestEvent] = []
    remove = fresh.add_listener(events.append)
    try:
        task = asyncio.ensure_future(fresh.execute("SELECT * FROM rows", timeout=10))
        await asyncio.sleep(0)  # let it be sent, then give up on it
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        remove()
    stats = fresh.stats()
    assert stats.cancellations == 1, stats
    assert stats.errors == 0, f"a cancellation was counted as an error: {stats.errors_by_kind}"
    assert [e.outcome for e in events] == ["cancelled"], [(e.kind, e.outcome) for e in events]
    assert stats.in_flight == 0, "the cancelled request still holds an in-flight slot"

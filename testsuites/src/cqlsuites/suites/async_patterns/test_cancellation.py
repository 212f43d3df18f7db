"""Cancelling requests and putting timeouts around them frees their in-flight slots."""

from __future__ import annotations

import asyncio

import pytest
from aiocql import AsyncSession, RequestTimeout
from cassandra import OperationTimedOut
from cassandra.query import SimpleStatement

from .slots import wait_in_flight


async def test_cancelling_in_flight_requests_frees_their_slots(
    fresh: AsyncSession, slow_query: SimpleStatement
) -> None:
    tasks = [asyncio.ensure_future(fresh.execute(slow_query)) for _ in range(8)]
    await wait_in_flight(fresh, 8)
    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    cancelled = sum(isinstance(r, asyncio.CancelledError) for r in results)
    assert cancelled >= 1, "every slow request finished before it could be cancelled"
    assert fresh.in_flight == 0, f"{fresh.in_flight} slots still held after cancelling"
    stats = fresh.stats()
    assert stats.cancellations == cancelled, stats
    async with asyncio.timeout(5):  # all 8 slots are free again: 8 at once go through
        await asyncio.gather(*(fresh.execute("SELECT v FROM kv WHERE k = 1") for _ in range(8)))


async def test_cancelled_waiters_never_reach_the_server(
    fresh: AsyncSession, slow_query: SimpleStatement
) -> None:
    running = [asyncio.ensure_future(fresh.execute(slow_query)) for _ in range(8)]
    await wait_in_flight(fresh, 8)
    waiting = [asyncio.ensure_future(fresh.execute(slow_query)) for _ in range(20)]
    await asyncio.sleep(0)
    for task in waiting:
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)
    await asyncio.gather(*running)
    assert all(t.cancelled() for t in waiting), "a request waiting for a slot was not cancelled"
    assert fresh.stats().requests == 8, (
        f"{fresh.stats().requests} requests sent: cancelled waiters went to the server"
    )
    assert fresh.in_flight == 0


async def test_asyncio_timeout_around_a_slow_query(
    fresh: AsyncSession, slow_query: SimpleStatement
) -> None:
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.001):
            await fresh.execute(slow_query)
    assert fresh.in_flight == 0, "the timed-out request still holds its slot"
    assert fresh.stats().cancellations == 1, fresh.stats()
    assert (await fresh.execute("SELECT v FROM kv WHERE k = 1")) is not None


async def test_wait_for_around_a_slow_query(
    fresh: AsyncSession, slow_query: SimpleStatement
) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(fresh.execute(slow_query), 0.001)
    assert fresh.in_flight == 0
    result = await asyncio.wait_for(fresh.execute(slow_query), 30)
    assert len(result.rows) > 0, "the same query within a generous deadline returned nothing"


async def test_request_timeout_is_the_drivers_error(
    fresh: AsyncSession, slow_query: SimpleStatement
) -> None:
    with pytest.raises(OperationTimedOut):
        await fresh.execute(slow_query, timeout=0.001)
    assert fresh.in_flight == 0
    stats = fresh.stats()
    assert stats.errors == 1, f"a timed-out request was not counted as an error: {stats}"


async def test_shielded_request_finishes_after_the_caller_gives_up(fresh: AsyncSession) -> None:
    write = asyncio.ensure_future(fresh.execute("INSERT INTO kv (k, v) VALUES (50, 'shielded')"))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(write), 0)
    await asyncio.wait_for(write, 10)
    row = (await fresh.execute("SELECT v FROM kv WHERE k = 50")).one()
    assert row is not None, "a shielded write did not land after its caller timed out"
    assert row.v == "shielded"


async def test_abandoned_stream_stops_and_frees_its_slot(fresh: AsyncSession) -> None:
    async with fresh.stream("SELECT c FROM heavy WHERE p = 0", page_size=100) as stream:
        async for row in stream:
            if row.c == 150:
                break
    requests = stream.page_requests
    await asyncio.sleep(0.2)
    assert stream.page_requests == requests, "a closed stream kept fetching pages"
    assert requests <= 3, f"reading 151 rows in pages of 100 took {requests} page requests"
    assert fresh.in_flight == 0


async def test_stream_total_timeout(fresh: AsyncSession) -> None:
    seen = 0

    async def slow_reader() -> None:
        nonlocal seen
        async with fresh.stream(
            "SELECT c FROM heavy WHERE p = 0", page_size=10, total_timeout=0.3
        ) as rows:
            async for _ in rows:
                seen += 1
                await asyncio.sleep(0.01)  # a consumer slower than the deadline allows

    with pytest.raises(RequestTimeout) as caught:
        await slow_reader()
    assert isinstance(caught.value, TimeoutError), "RequestTimeout is not a TimeoutError"
    assert 0 < seen < 100, f"the reader saw {seen} rows before a 0.3 s total timeout"
    assert fresh.in_flight == 0, "the timed-out stream still holds a slot"

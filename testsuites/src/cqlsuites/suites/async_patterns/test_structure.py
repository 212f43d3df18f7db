"""Structured concurrency over one session: fan-out, failures, queues, several event loops."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from aiocql import AsyncResult, AsyncSession
from cassandra import InvalidRequest
from cassandra.query import SimpleStatement


async def _fill(cql: AsyncSession, count: int) -> Any:
    insert = await cql.prepare("INSERT INTO kv (k, v) VALUES (?, ?)")
    await cql.execute_concurrent([(insert, (k, f"value {k}")) for k in range(count)])
    return await cql.prepare("SELECT k, v FROM kv WHERE k = ?")


async def test_taskgroup_fan_out_matches_results_to_requests(
    cql: AsyncSession, suite_params: Mapping[str, Any]
) -> None:
    count = int(suite_params["fanOut"])
    select = await _fill(cql, count)
    async with asyncio.TaskGroup() as group:
        tasks = {k: group.create_task(cql.execute(select, (k,))) for k in range(count)}
    wrong = [(k, t.result().one()) for k, t in tasks.items() if t.result().one().v != f"value {k}"]
    assert not wrong, f"results crossed between requests: {wrong[:5]}"


async def test_taskgroup_with_one_failing_task(
    fresh: AsyncSession, slow_query: SimpleStatement
) -> None:
    siblings: list[asyncio.Task[Any]] = []

    async def fan_out() -> None:
        async with asyncio.TaskGroup() as group:
            siblings.extend(group.create_task(fresh.execute(slow_query)) for _ in range(6))
            group.create_task(fresh.execute("SELECT nope FROM kv"))

    with pytest.raises(ExceptionGroup) as caught:
        await fan_out()
    errors = caught.value.exceptions
    assert len(errors) == 1, f"expected only the failing task's error, got {errors}"
    assert isinstance(errors[0], InvalidRequest), repr(errors[0])
    assert all(t.done() for t in siblings), "a sibling task was left running"
    assert fresh.in_flight == 0, f"{fresh.in_flight} slots held after the group failed"
    assert (await fresh.execute("SELECT v FROM kv WHERE k = 1")) is not None


async def test_gather_keeps_failures_in_place(cql: AsyncSession) -> None:
    select = await _fill(cql, 10)
    results = await asyncio.gather(
        *(
            cql.execute(select, (k,)) if k % 3 else cql.execute("SELECT nope FROM kv")
            for k in range(10)
        ),
        return_exceptions=True,
    )
    failed = [k for k, r in enumerate(results) if isinstance(r, BaseException)]
    assert failed == [0, 3, 6, 9], f"failures at positions {failed}"
    assert all(isinstance(results[k], InvalidRequest) for k in failed)
    answered = [r.one().k for r in results if isinstance(r, AsyncResult)]
    assert answered == [1, 2, 4, 5, 7, 8], f"answers out of place: {answered}"


async def test_as_completed_delivers_every_result(
    cql: AsyncSession, suite_params: Mapping[str, Any]
) -> None:
    count = int(suite_params["fanOut"])
    select = await _fill(cql, count)
    seen = []
    for next_done in asyncio.as_completed([cql.execute(select, (k,)) for k in range(count)]):
        seen.append((await next_done).one().k)
    assert sorted(seen) == list(range(count)), "as_completed lost or duplicated results"


async def test_semaphore_bounds_concurrency(
    fresh: AsyncSession, suite_params: Mapping[str, Any]
) -> None:
    limit = asyncio.Semaphore(3)

    async def one(k: int) -> None:
        async with limit:
            await fresh.execute("SELECT v FROM kv WHERE k = %s", (k,))

    await asyncio.gather(*(one(k) for k in range(int(suite_params["fanOut"]))))
    high = fresh.stats().in_flight_high_water
    assert 1 <= high <= 3, f"a semaphore of 3 let {high} requests be in flight"


async def test_producer_consumer_through_a_bounded_queue(cql: AsyncSession) -> None:
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=20)
    copy = await cql.prepare("INSERT INTO copies (k, v) VALUES (?, ?)")
    deepest = 0
    produced = 0

    async def produce() -> None:
        nonlocal deepest, produced
        query = "SELECT c, v FROM heavy WHERE p = 0 AND c < 600"
        async with cql.stream(query, page_size=100) as rows:
            async for row in rows:
                await queue.put(row)
                produced += 1
                deepest = max(deepest, queue.qsize())
        for _ in range(4):
            await queue.put(None)

    async def consume() -> int:
        done = 0
        while (row := await queue.get()) is not None:
            await cql.execute(copy, (row.c, row.v.upper()))
            done += 1
        return done

    async with asyncio.timeout(60), asyncio.TaskGroup() as group:
        group.create_task(produce())
        workers = [group.create_task(consume()) for _ in range(4)]
    consumed = [w.result() for w in workers]
    assert sum(consumed) == produced, f"produced {produced}, consumed {consumed}"
    assert all(n > 0 for n in consumed), f"a consumer got no work: {consumed}"
    assert deepest <= 20, f"the queue held {deepest} items, more than its maxsize"
    count = (await cql.execute("SELECT count(*) AS n FROM copies")).one().n
    assert count == produced, f"{count} rows copied of {produced}"


async def test_one_session_serves_another_event_loop(cql: AsyncSession) -> None:
    select = await _fill(cql, 5)

    def in_a_new_loop() -> list[int]:
        async def read() -> list[int]:
            return [(await cql.execute(select, (k,))).one().k for k in range(5)]

        return asyncio.run(read())

    async with asyncio.timeout(30):
        keys = await asyncio.to_thread(in_a_new_loop)
    assert keys == list(range(5))
    assert (await cql.execute(select, (3,))).one().k == 3, "the suite's own loop lost the session"

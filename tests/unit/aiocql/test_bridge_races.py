"""Every way a driver future can complete relative to the await, and exactly-once settlement."""

from __future__ import annotations

import asyncio
import logging
import queue
import random
import threading
from collections.abc import Callable
from typing import Any

import pytest
from aiocql import AsyncSession
from cassandra.cluster import NoHostAvailable
from fakes import FakeDriverSession, FakeResponseFuture

Make = Callable[..., tuple[AsyncSession, FakeDriverSession]]


async def wait_for_requests(driver: FakeDriverSession, n: int) -> None:
    """Let the tasks under test reach the driver (bounded: fails instead of hanging)."""
    async with asyncio.timeout(5):
        while len(driver.futures) < n:  # noqa: ASYNC110 - polling a plain list, no event exists
            await asyncio.sleep(0.001)


def _no_callback_errors(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not bad, [r.getMessage() for r in bad]


async def test_completion_inside_add_callbacks(make_session: Make) -> None:
    session, _ = make_session(lambda rf: rf.complete(["r1"]))
    result = await session.execute("SELECT 1")
    assert result.rows == ["r1"]
    assert session.in_flight == 0


async def test_failure_inside_add_callbacks_is_raised_unchanged(make_session: Make) -> None:
    error = NoHostAvailable("Unable to complete the operation against any hosts", {})
    session, _ = make_session(lambda rf: rf.fail(error))
    with pytest.raises(NoHostAvailable) as info:
        await session.execute("SELECT 1")
    assert info.value is error
    assert session.stats().errors_by_kind == {"NoHostAvailable": 1}


async def test_completion_from_thread_before_await(make_session: Make) -> None:
    def behaviour(rf: FakeResponseFuture) -> None:
        rf.on_add = lambda f: f.complete_in_thread(["early"])

    session, _ = make_session(behaviour)
    assert (await session.execute("SELECT 1")).rows == ["early"]


async def test_failure_from_thread_before_await(make_session: Make) -> None:
    error = NoHostAvailable("down", {})

    def behaviour(rf: FakeResponseFuture) -> None:
        rf.on_add = lambda f: f.fail_in_thread(error)

    session, _ = make_session(behaviour)
    with pytest.raises(NoHostAvailable) as info:
        await session.execute("SELECT 1")
    assert info.value is error


async def test_completion_from_thread_after_await(make_session: Make) -> None:
    session, driver = make_session()
    task = asyncio.ensure_future(session.execute("SELECT 1"))
    await asyncio.sleep(0.01)
    assert not task.done()
    driver.futures[0].complete_in_thread(["late"])
    assert (await asyncio.wait_for(task, 2)).rows == ["late"]


async def test_completion_on_loop_thread_after_await(make_session: Make) -> None:
    session, driver = make_session()
    task = asyncio.ensure_future(session.execute("SELECT 1"))
    await wait_for_requests(driver, 1)
    driver.futures[0].complete(["same-thread"])
    assert (await asyncio.wait_for(task, 2)).rows == ["same-thread"]


async def test_double_completion_settles_once(
    make_session: Make, caplog: pytest.LogCaptureFixture
) -> None:
    session, driver = make_session()
    task = asyncio.ensure_future(session.execute("SELECT 1"))
    await wait_for_requests(driver, 1)
    rf = driver.futures[0]
    threads = [
        threading.Thread(target=rf.complete, args=(["a"],)),
        threading.Thread(target=rf.fail, args=(RuntimeError("b"),)),
        threading.Thread(target=rf.complete, args=(["c"],)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    outcome = (await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 2))[0]
    assert (
        outcome == RuntimeError("b")
        or getattr(outcome, "rows", None) in (["a"], ["c"])
        or (isinstance(outcome, RuntimeError) and str(outcome) == "b")
    )
    await asyncio.sleep(0.05)
    stats = session.stats()
    assert stats.completed + stats.errors == 1
    assert session.in_flight == 0
    _no_callback_errors(caplog)


async def test_many_requests_completed_from_many_threads(
    make_session: Make, caplog: pytest.LogCaptureFixture
) -> None:
    session, driver = make_session(max_in_flight=10_000)
    n = 3000
    tasks = [asyncio.ensure_future(session.execute("SELECT 1", (i,))) for i in range(n)]
    await wait_for_requests(driver, n)
    futures = list(driver.futures)
    random.Random(7).shuffle(futures)

    def complete(chunk: list[FakeResponseFuture]) -> None:
        for rf in chunk:
            if rf.parameters[0] % 10 == 0:
                rf.fail(ValueError(rf.parameters[0]))
            else:
                rf.complete([rf.parameters[0]])

    threads = [threading.Thread(target=complete, args=(futures[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10)
    for t in threads:
        t.join()
    for i, result in enumerate(results):
        if i % 10 == 0:
            assert isinstance(result, ValueError)
            assert result.args == (i,)
        else:
            assert result.rows == [i]  # type: ignore[union-attr]
    stats = session.stats()
    assert (stats.requests, stats.completed, stats.errors) == (n, n - n // 10, n // 10)
    assert stats.errors_by_kind == {"ValueError": n // 10}
    assert stats.in_flight == 0
    assert stats.in_flight_high_water == n
    _no_callback_errors(caplog)


async def test_synchronous_driver_exception_is_raised_unchanged(make_session: Make) -> None:
    session, driver = make_session()
    error = TypeError("Received an argument of invalid type")
    driver.raise_on_execute = error
    with pytest.raises(TypeError) as info:
        await session.execute("INSERT", ("x",))
    assert info.value is error
    assert session.in_flight == 0


def test_completion_after_loop_closed_is_harmless(make_session: Make) -> None:
    session, driver = make_session()
    loop = asyncio.new_event_loop()

    tasks: list[asyncio.Future[Any]] = []

    async def start() -> None:
        tasks.append(asyncio.ensure_future(session.execute("SELECT 1")))
        await asyncio.sleep(0.01)

    loop.run_until_complete(start())
    loop.close()  # the request is still pending, its loop is gone
    driver.futures[0].complete_in_thread(["too late"])  # must not raise on the driver thread
    driver.behaviour = lambda rf: rf.complete(["new loop"])

    async def again() -> list[Any]:
        return (await session.execute("SELECT 1")).rows

    assert asyncio.run(again()) == ["new loop"]
    assert driver.futures[0].cleared >= 1  # the dead loop's request was detached
    asyncio.run(session.close())


def test_successive_event_loops(make_session: Make) -> None:
    session, driver = make_session()

    def behaviour(rf: FakeResponseFuture) -> None:
        threading.Timer(0.005, rf.complete, args=(["ok"],)).start()

    driver.behaviour = behaviour

    async def use() -> list[Any]:
        results = await asyncio.gather(*(session.execute("SELECT 1") for _ in range(50)))
        return [r.rows for r in results]

    assert asyncio.run(use()) == [["ok"]] * 50
    assert asyncio.run(use()) == [["ok"]] * 50
    assert session.stats().completed == 100
    assert session.in_flight == 0
    asyncio.run(session.close())


class FakeReactor:
    """A driver IO thread with ``create_timer``: jobs and 0 s timers run on one thread, timers
    after the job that armed them (like libev running timers after an IO batch)."""

    def __init__(self) -> None:
        self.jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (job := self.jobs.get()) is not None:
            job()

    def create_timer(self, timeout: float, callback: Callable[[], None]) -> None:
        self.jobs.put(callback)

    def stop(self) -> None:
        self.jobs.put(None)
        self.thread.join()


async def test_io_thread_completions_wake_the_loop_once_per_batch(make_session: Make) -> None:
    reactor = FakeReactor()
    try:
        _, driver = make_session()
        driver.cluster.connection_class = reactor  # type: ignore[attr-defined]
        session, _ = make_session()
        session = AsyncSession(driver, session._executor)  # picks up the reactor's timers
        tasks = [asyncio.ensure_future(session.execute("SELECT 1", (i,))) for i in range(500)]
        await wait_for_requests(driver, 500)
        bridge = session._bridge
        assert bridge is not None
        drains = 0
        original = bridge._drain

        def counting_drain() -> None:
            nonlocal drains
            drains += 1
            original()

        bridge._drain = counting_drain  # type: ignore[method-assign]

        def batch() -> None:
            for rf in driver.futures:
                rf.complete([rf.parameters[0]])

        reactor.jobs.put(batch)
        results = await asyncio.wait_for(asyncio.gather(*tasks), 5)
        assert [r.rows for r in results] == [[i] for i in range(500)]
        assert drains == 1
        assert session.in_flight == 0
        await session.close()
    finally:
        reactor.stop()

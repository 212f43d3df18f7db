"""AsyncSession over the fake driver: timeouts, cancellation, close, backpressure, listeners,
prepare, concurrency helpers and argument validation."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from aiocql import (
    AiocqlError,
    AsyncSession,
    BackpressureTimeout,
    RateLimiter,
    RequestEvent,
    RequestTimeout,
    SessionClosedError,
)
from cassandra import OperationTimedOut
from fakes import NOT_SET, FakeDriverSession, FakeResponseFuture, cancel_and_check_released
from test_bridge_races import wait_for_requests

Make = Callable[..., tuple[AsyncSession, FakeDriverSession]]


async def test_stalled_request_times_out_as_request_timeout(make_session: Make) -> None:
    session, driver = make_session(grace=0.1)
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(RequestTimeout) as info:
        await session.execute("SELECT 1", timeout=0.2)
    elapsed = loop.time() - start
    assert 0.2 <= elapsed < 1.0
    assert isinstance(info.value, TimeoutError)
    assert isinstance(info.value, OperationTimedOut)
    assert isinstance(info.value, AiocqlError)
    assert driver.futures[0].timeout == 0.2  # the driver's own timer got the same bound
    assert not driver.futures[0].has_callbacks
    stats = session.stats()
    assert (stats.timeouts, stats.errors_by_kind, stats.in_flight) == (
        1,
        {"RequestTimeout": 1},
        0,
    )


async def test_cancel_clears_callbacks_and_frees_the_slot(make_session: Make) -> None:
    session, driver = make_session()
    task = asyncio.ensure_future(session.execute("SELECT 1"))
    await wait_for_requests(driver, 1)
    assert session.in_flight == 1
    rf = driver.futures[0]
    await cancel_and_check_released(task, rf, session)
    rf.complete_in_thread(["late"])  # a late completion is ignored
    await asyncio.sleep(0.01)
    assert session.stats().completed == 0


async def test_close_fails_pending_requests_promptly_and_is_idempotent(make_session: Make) -> None:
    session, driver = make_session()
    tasks = [asyncio.ensure_future(session.execute("SELECT 1")) for _ in range(5)]
    await wait_for_requests(driver, 5)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await session.close()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert loop.time() - start < 1.0
    assert all(isinstance(r, SessionClosedError) for r in results)
    assert all(not rf.has_callbacks for rf in driver.futures)
    with pytest.raises(SessionClosedError):
        await session.execute("SELECT 1")
    with pytest.raises(SessionClosedError):
        session.stream("SELECT 1")
    await session.close()
    assert driver.shutdown_calls == 1


async def test_max_in_flight_bounds_outstanding_driver_requests(make_session: Make) -> None:
    outstanding: list[int] = []
    session, driver = make_session(max_in_flight=3)

    def behaviour(rf: FakeResponseFuture) -> None:
        outstanding.append(sum(1 for f in driver.futures if f._final_result is NOT_SET))
        threading.Timer(0.002, rf.complete, args=(["ok"],)).start()

    driver.behaviour = behaviour
    results = await asyncio.gather(*(session.execute("SELECT 1") for _ in range(60)))
    assert len(results) == 60
    assert session.stats().in_flight_high_water == 3
    assert max(outstanding) == 3  # counted at each send, including the one being sent
    assert session.in_flight == 0


async def test_backpressure_timeout(make_session: Make) -> None:
    session, driver = make_session(max_in_flight=1)
    first = asyncio.ensure_future(session.execute("SELECT 1"))
    await wait_for_requests(driver, 1)
    with pytest.raises(BackpressureTimeout):
        await session.execute("SELECT 2", timeout=0.05)
    assert len(driver.futures) == 1
    driver.futures[0].complete(["done"])
    assert (await first).rows == ["done"]
    driver.behaviour = lambda rf: rf.complete(["next"])
    assert (await session.execute("SELECT 3")).rows == ["next"]


async def test_cancelled_slot_waiter_does_not_leak_a_slot(make_session: Make) -> None:
    session, driver = make_session(max_in_flight=1)
    first = asyncio.ensure_future(session.execute("SELECT 1"))
    await wait_for_requests(driver, 1)
    waiting = asyncio.ensure_future(session.execute("SELECT 2"))
    await asyncio.sleep(0.01)
    waiting.cancel()
    driver.futures[0].complete(["a"])
    await first
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert session.in_flight == 0
    driver.behaviour = lambda rf: rf.complete(["b"])
    assert (await session.execute("SELECT 3")).rows == ["b"]


async def test_listeners_run_on_the_loop_thread(make_session: Make) -> None:
    def behaviour(rf: FakeResponseFuture) -> None:
        threading.Timer(0.001, rf.complete, args=([1, 2],)).start()

    session, _ = make_session(behaviour)
    seen: list[tuple[RequestEvent, int]] = []
    remove = session.add_listener(lambda e: seen.append((e, threading.get_ident())))

    def broken(_: RequestEvent) -> None:
        raise RuntimeError("listener bug")

    session.add_listener(broken)
    await asyncio.gather(*(session.execute("SELECT 1") for _ in range(10)))
    remove()
    await session.execute("SELECT 1")
    assert len(seen) == 10
    assert {thread for _, thread in seen} == {threading.get_ident()}
    event = seen[0][0]
    assert (event.kind, event.outcome, event.rows, event.query) == ("execute", "ok", 2, "SELECT 1")
    assert event.latency > 0


async def test_prepare_single_flight_and_error_identity(make_session: Make) -> None:
    session, driver = make_session()
    results = await asyncio.gather(*(session.prepare("SELECT ?") for _ in range(10)))
    assert driver.prepare_calls == 1
    assert all(r is results[0] for r in results)
    assert results[0].query_string == "SELECT ?"
    error = OperationTimedOut("slow")

    def fail(*_: Any) -> Any:
        raise error

    driver.prepare = fail  # type: ignore[method-assign]
    with pytest.raises(OperationTimedOut) as info:
        await session.prepare("SELECT 2")
    assert info.value is error


async def test_execute_concurrent_keeps_order_and_reports_errors(make_session: Make) -> None:
    def behaviour(rf: FakeResponseFuture) -> None:
        value = rf.parameters[0]
        if value == 7:
            threading.Timer(0.001, rf.fail, args=(ValueError(7),)).start()
        else:
            threading.Timer(0.001 * (value % 3), rf.complete, args=([value],)).start()

    session, _ = make_session(behaviour)
    statements = [("SELECT ?", (i,)) for i in range(20)]
    results = await session.execute_concurrent(statements, concurrency=4, return_exceptions=True)
    assert [r.args if isinstance(r, ValueError) else r.rows for r in results] == [
        (i,) if i == 7 else [i] for i in range(20)
    ]
    with pytest.raises(ValueError, match="7"):
        await session.execute_concurrent(statements, concurrency=4)


async def test_set_keyspace_validates(make_session: Make) -> None:
    session, driver = make_session()
    await session.set_keyspace("ks_1")
    assert driver.keyspace == "ks_1"
    await session.set_keyspace('"MixedCase"')
    assert driver.keyspace == "MixedCase"
    with pytest.raises(ValueError, match="keyspace='bad name'"):
        await session.set_keyspace("bad name")


async def test_rate_limiter_spaces_requests(make_session: Make) -> None:
    session, _ = make_session(lambda rf: rf.complete([]), rate_limiter=RateLimiter(200, burst=1))
    loop = asyncio.get_running_loop()
    start = loop.time()
    await asyncio.gather(*(session.execute("SELECT 1") for _ in range(21)))
    assert loop.time() - start >= 0.09  # 20 intervals of 5 ms


def test_rate_limiter_arguments() -> None:
    with pytest.raises(ValueError, match="rate=0"):
        RateLimiter(0)
    with pytest.raises(ValueError, match="burst=0"):
        RateLimiter(10, burst=0)
    limiter = RateLimiter(10, burst=3)
    assert [limiter.reserve() == 0 for _ in range(3)] == [True, True, True]
    assert limiter.reserve() > 0


async def test_bad_arguments_are_named(make_session: Make) -> None:
    session, _ = make_session()
    with pytest.raises(ValueError, match="timeout=0"):
        await session.execute("SELECT 1", timeout=0)
    with pytest.raises(ValueError, match="max_in_flight=0"):
        make_session(max_in_flight=0)
    with pytest.raises(ValueError, match="concurrency=0"):
        await session.execute_concurrent([], concurrency=0)
    with pytest.raises(TypeError, match="listener"):
        session.add_listener("not callable")  # type: ignore[arg-type]

"""Requests are sent from the driver's IO thread in batches, and never wait on a stopped one."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from aiocql import AsyncSession, Timeouts
from aiocql.sender import WATCHDOG, IoThreadSender
from cassandra.cluster import NoHostAvailable
from fakes import FakeDriverSession, FakeReactor, FakeResponseFuture


@pytest.fixture
def io_reactor() -> Iterator[FakeReactor]:
    reactor = FakeReactor()
    yield reactor
    reactor.close()


def session_on(
    reactor: FakeReactor, executor: ThreadPoolExecutor, driver: FakeDriverSession
) -> AsyncSession:
    assert driver.cluster.connection_class is reactor
    return AsyncSession(driver, executor, timeouts=Timeouts(request=5, grace=0.1))


async def test_requests_are_sent_from_the_io_thread_in_batches(
    io_reactor: FakeReactor, executor: ThreadPoolExecutor
) -> None:
    senders: list[int] = []

    def behaviour(rf: FakeResponseFuture) -> None:
        senders.append(threading.get_ident())
        rf.complete([rf.parameters])

    session = session_on(io_reactor, executor, FakeDriverSession(behaviour, io_reactor))
    results = await asyncio.gather(*(session.execute("SELECT ?", (i,)) for i in range(200)))
    assert [r.rows for r in results] == [[(i,)] for i in range(200)]
    assert set(senders) == {io_reactor.thread.ident}
    await session.close()


async def test_a_burst_from_one_loop_iteration_wakes_the_io_thread_once() -> None:
    """Tasks resumed by one drain each submit in their own callback of one loop iteration; the
    IO thread here runs every kick at once, as one on a free core does. One kick still sends
    the whole burst (kicked at the first request, it sent one request per kick)."""
    loop = asyncio.get_running_loop()
    kicks: list[float] = []
    batches: list[int] = []
    sent: list[Any] = []

    def io_timer(delay: float, callback: Callable[[], None]) -> None:
        kicks.append(delay)
        before = len(sent)
        callback()
        batches.append(len(sent) - before)

    sender = IoThreadSender(loop, io_timer, sent.append)
    for i in range(50):
        loop.call_soon(sender.submit, i)
    for _ in range(3):
        await asyncio.sleep(0)
    assert sent == list(range(50))
    assert batches == [50]
    assert kicks == [0]
    sender.forget()


async def test_an_exception_raised_while_sending_reaches_the_caller_unchanged(
    io_reactor: FakeReactor, executor: ThreadPoolExecutor
) -> None:
    driver = FakeDriverSession(None, io_reactor)
    session = session_on(io_reactor, executor, driver)
    error = TypeError("Received an argument of invalid type")
    driver.raise_on_execute = error
    with pytest.raises(TypeError) as info:
        await session.execute("INSERT INTO t (k) VALUES (?)", ("not an int",))
    assert info.value is error
    assert session.in_flight == 0
    assert session.stats().errors_by_kind == {"TypeError": 1}
    await session.close()


async def test_a_stopped_io_thread_does_not_hold_requests_back(
    io_reactor: FakeReactor, executor: ThreadPoolExecutor
) -> None:
    """libev's loop stops while no connection is open (every node down): the watchdog sends
    from the event loop, and the driver's NoHostAvailable arrives at once, not at the
    request's deadline."""
    error = NoHostAvailable("Unable to complete the operation against any hosts", {})
    driver = FakeDriverSession(lambda rf: rf.fail(error), io_reactor)
    session = session_on(io_reactor, executor, driver)
    io_reactor.stop()
    started = time.monotonic()
    for _ in range(2):  # and again: the watchdog re-arms for the next burst
        with pytest.raises(NoHostAvailable) as info:
            await session.execute("SELECT 1")
        assert info.value is error
    assert time.monotonic() - started < 2 * WATCHDOG + 1.0
    await session.close()


async def test_a_request_cancelled_before_it_was_sent_is_never_sent(
    io_reactor: FakeReactor, executor: ThreadPoolExecutor
) -> None:
    driver = FakeDriverSession(None, io_reactor)
    session = session_on(io_reactor, executor, driver)
    io_reactor.stop()
    task = asyncio.ensure_future(session.execute("SELECT 1"))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(2 * WATCHDOG)  # the watchdog ran: it found nothing to send
    assert driver.futures == []
    assert session.in_flight == 0
    await session.close()

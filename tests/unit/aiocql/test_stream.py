"""Streams and paging over the fake driver: per-page requests, timeouts, cancellation,
abandonment and error identity."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Callable
from typing import Any

import pytest
from aiocql import (
    AsyncRowStream,
    AsyncSession,
    PageInfo,
    RequestTimeout,
    ResultTooLarge,
    SessionClosedError,
    StreamClosedError,
)
from cassandra import OperationTimedOut
from cassandra.cluster import NoHostAvailable
from fakes import FakeDriverSession, FakeReactor, FakeResponseFuture, cancel_and_check_released
from test_bridge_races import wait_for_requests

Make = Callable[..., tuple[AsyncSession, FakeDriverSession]]


async def consume(stream: AsyncRowStream, into: list[Any] | None = None) -> list[Any]:
    """Iterate a stream to the end inside ``async with`` and return the rows."""
    rows = [] if into is None else into
    async with stream:
        async for row in stream:
            rows.append(row)
    return rows


async def consume_pages(stream: AsyncRowStream) -> list[list[Any]]:
    async with stream:
        return [page async for page in stream.pages()]


def table(n: int, *, stall_from_page: int | None = None) -> Callable[[FakeResponseFuture], None]:
    """Serve rows 0..n-1 in pages of the statement's fetch_size; optionally never answer from
    page ``stall_from_page`` (1-based) on."""

    def behaviour(rf: FakeResponseFuture) -> None:
        offset = int(rf.paging_state_in or b"0")
        size = rf.query.fetch_size
        page_number = offset // size + 1
        if stall_from_page is not None and page_number >= stall_from_page:
            return
        end = min(offset + size, n)
        state = str(end).encode() if end < n else None
        rf.complete(list(range(offset, end)), state)

    return behaviour


async def test_stream_yields_all_rows_in_order_one_request_per_page(make_session: Make) -> None:
    session, driver = make_session(table(95))
    pages: list[PageInfo] = []
    async with session.stream("SELECT x", page_size=10, on_page=pages.append) as rows:
        got = [row async for row in rows]
    assert got == list(range(95))
    assert len(driver.futures) == 10
    assert [rf.paging_state_in for rf in driver.futures[:3]] == [None, b"10", b"20"]
    assert [p.rows for p in pages] == [10] * 9 + [5]
    assert pages[-1].rows_total == 95
    assert session.stats().pages == 10
    assert session.stats().rows == 95


async def test_pages_iterator_and_max_pages(make_session: Make) -> None:
    session, _ = make_session(table(50))
    async with session.stream("SELECT x", page_size=20, max_pages=2) as rows:
        pages = [page async for page in rows.pages()]
    assert pages == [list(range(20)), list(range(20, 40))]


async def test_on_page_runs_on_loop_thread(make_session: Make) -> None:
    def behaviour(rf: FakeResponseFuture) -> None:
        rf.on_add = lambda f: threading.Thread(target=table(30), args=(f,)).start()

    session, _ = make_session(behaviour)
    threads: list[int] = []
    async with session.stream(
        "SELECT x", page_size=10, on_page=lambda _: threads.append(threading.get_ident())
    ) as rows:
        assert len([row async for row in rows]) == 30
    assert threads == [threading.get_ident()] * 3


async def test_resume_from_paging_state(make_session: Make) -> None:
    session, _ = make_session(table(25))
    first = await session.execute("SELECT x", fetch_size=10)
    assert first.rows == list(range(10))
    assert first.has_more_pages
    async with session.stream("SELECT x", page_size=10, paging_state=first.paging_state) as rows:
        assert [row async for row in rows] == list(range(10, 25))
    second = await first.next_page()
    assert second is not None
    assert second.rows == list(range(10, 20))


async def test_failure_of_first_page_raises_same_object(make_session: Make) -> None:
    error = NoHostAvailable("Unable to complete the operation against any hosts", {})
    session, _ = make_session(lambda rf: rf.fail(error))
    with pytest.raises(NoHostAvailable) as info:
        await consume(session.stream("SELECT x"))
    assert info.value is error
    with pytest.raises(NoHostAvailable) as info2:
        await consume_pages(session.stream("SELECT x"))
    assert info2.value is error


async def test_failure_from_thread_before_iteration(make_session: Make) -> None:
    error = NoHostAvailable("down", {})

    def behaviour(rf: FakeResponseFuture) -> None:
        rf.on_add = lambda f: f.fail_in_thread(error)

    session, _ = make_session(behaviour)
    rows = session.stream("SELECT x")
    async with rows:
        await asyncio.sleep(0.05)  # the failure lands before the first __anext__
        with pytest.raises(NoHostAvailable) as info:
            await asyncio.wait_for(rows.__anext__(), 2)
    assert info.value is error


async def test_stalled_second_page_times_out_by_page_timeout(make_session: Make) -> None:
    session, driver = make_session(table(100, stall_from_page=2), grace=0.1)
    loop = asyncio.get_running_loop()
    got: list[Any] = []
    start = loop.time()
    with pytest.raises(RequestTimeout) as info:
        await consume(session.stream("SELECT x", page_size=10, page_timeout=0.3), got)
    elapsed = loop.time() - start
    assert got == list(range(10))
    assert isinstance(info.value, TimeoutError)
    assert 0.3 <= elapsed < 2.0
    assert driver.futures[1].timeout == 0.3  # the driver got the page timeout too
    assert session.stats().timeouts == 1


async def test_total_timeout(make_session: Make) -> None:
    session, _ = make_session(table(100, stall_from_page=2))
    with pytest.raises(RequestTimeout):
        await consume(session.stream("SELECT x", page_size=10, total_timeout=0.2))
    assert session.in_flight == 0


async def test_total_timeout_when_the_drivers_own_timer_fires_first(make_session: Make) -> None:
    # the second page gets what is left of the budget as its driver timeout; the driver's
    # "Client request timeout" must still surface as the stream's total timeout
    driver_timeout = OperationTimedOut("Client request timeout", None)
    serve = table(100)

    def behaviour(rf: FakeResponseFuture) -> None:
        if rf.paging_state_in is None:
            serve(rf)
        else:
            rf.fail(driver_timeout)

    session, _ = make_session(behaviour)
    rows = session.stream("SELECT x", page_size=10, total_timeout=5.0)
    with pytest.raises(RequestTimeout, match="total_timeout") as info:
        await consume(rows)
    assert isinstance(info.value, TimeoutError)
    assert info.value.__cause__ is driver_timeout
    assert session.in_flight == 0


async def test_cancellation_mid_stream_clears_callbacks_and_stops(make_session: Make) -> None:
    session, driver = make_session(table(100, stall_from_page=2))
    consumed: list[int] = []

    async def consume() -> None:
        async with session.stream("SELECT x", page_size=10) as rows:
            async for row in rows:
                consumed.append(row)

    task = asyncio.ensure_future(consume())
    await wait_for_requests(driver, 2)
    await asyncio.sleep(0.01)
    await cancel_and_check_released(task, driver.futures[1], session)
    requests = len(driver.futures)
    await asyncio.sleep(0.05)
    assert len(driver.futures) == requests == 2
    assert consumed == list(range(10))


@pytest.mark.parametrize("prefetch", [0, 1, 3])
async def test_abandoned_stream_fetches_at_most_prefetch_more_pages(
    make_session: Make, prefetch: int
) -> None:
    session, driver = make_session(table(1000))
    async with session.stream("SELECT x", page_size=10, prefetch=prefetch) as rows:
        async for _ in rows:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.05)
    assert len(driver.futures) <= 1 + prefetch
    with pytest.raises(StreamClosedError):
        await rows.__anext__()
    await rows.aclose()  # idempotent


@pytest.mark.parametrize("prefetch", [0, 1])
async def test_the_next_page_is_requested_before_the_consumer_takes_this_one(
    make_session: Make, prefetch: int
) -> None:
    """A consumer iterating rows yields to the loop only when it needs a page: the next page's
    request must already be out when it gets this one, or no fetch ever overlaps its work."""
    session, _ = make_session(table(100))
    async with session.stream("SELECT x", page_size=10, prefetch=prefetch) as rows:
        pages = rows.pages()
        assert await pages.__anext__() == list(range(10))
        # no await since the page was handed over: only what the producer did before it
        assert rows.page_requests == 1 + prefetch
        assert await pages.__anext__() == list(range(10, 20))
        assert rows.page_requests == 2 + prefetch
    assert rows.rows_fetched <= 20 + 10 * prefetch


async def test_the_next_page_is_on_its_way_to_the_driver_before_the_consumer_runs(
    make_session: Make, reactor: FakeReactor | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Queued for the IO thread is not enough: the sender's kick must come before the consumer
    resumes, or the request waits until the consumer next yields (after its page)."""
    kicks: list[str] = []
    if reactor is not None:
        create_timer = reactor.create_timer

        def recording(timeout: float, callback: Callable[[], None]) -> None:
            if threading.current_thread() is threading.main_thread():
                kicks.append(getattr(callback, "__name__", ""))
            create_timer(timeout, callback)

        monkeypatch.setattr(reactor, "create_timer", recording)
    session, driver = make_session(table(100, stall_from_page=3))
    async with session.stream("SELECT x", page_size=10) as rows:
        pages = rows.pages()
        assert await pages.__anext__() == list(range(10))
        if reactor is None:
            assert len(driver.futures) == 2  # sent inline, on the loop thread
        else:
            assert kicks.count("_run") == 2  # the first page's request and the second's


async def test_garbage_collected_stream_warns_and_stops(make_session: Make) -> None:
    session, driver = make_session(table(1000))

    async def abandon() -> None:
        rows = session.stream("SELECT x", page_size=10, prefetch=2)
        await rows.__aenter__()
        await rows.__anext__()

    async def abandon_and_collect() -> None:
        await abandon()  # the stream object dies when this frame returns
        gc.collect()

    with pytest.warns(ResourceWarning, match="unclosed aiocql stream"):
        await abandon_and_collect()
    await asyncio.sleep(0.05)
    fetched = len(driver.futures)
    assert fetched <= 3
    await asyncio.sleep(0.05)
    assert len(driver.futures) == fetched
    assert not session._streams


async def test_session_close_fails_open_stream(make_session: Make) -> None:
    session, _ = make_session(table(100, stall_from_page=2))
    async with session.stream("SELECT x", page_size=10) as rows:
        task = asyncio.ensure_future(rows.__anext__())
        assert await task == 0
        waiter = asyncio.gather(*[rows.__anext__() for _ in range(10)])
        await asyncio.sleep(0.01)
        await session.close()
        with pytest.raises((SessionClosedError, StreamClosedError)):
            await asyncio.wait_for(waiter, 2)


async def test_execute_all_bounded_by_max_rows(make_session: Make) -> None:
    session, _ = make_session(table(35))
    assert await session.execute_all("SELECT x", page_size=10) == list(range(35))
    with pytest.raises(ResultTooLarge):
        await session.execute_all("SELECT x", page_size=10, max_rows=20)


async def test_execute_returns_only_first_page(make_session: Make) -> None:
    session, driver = make_session(table(35))
    result = await session.execute("SELECT x", fetch_size=10)
    assert result.rows == list(range(10))
    assert len(driver.futures) == 1


async def test_statement_is_not_mutated(make_session: Make) -> None:
    from cassandra.query import SimpleStatement

    session, driver = make_session(table(10))
    statement = SimpleStatement("SELECT x", fetch_size=3)
    async with session.stream(statement, page_size=5) as rows:
        assert len([r async for r in rows]) == 10
    assert statement.fetch_size == 3
    assert driver.futures[0].query is not statement


async def test_bad_stream_arguments(make_session: Make) -> None:
    session, _ = make_session()
    with pytest.raises(ValueError, match="prefetch"):
        session.stream("SELECT x", prefetch=-1)
    with pytest.raises(ValueError, match="fetch_size"):
        session.stream("SELECT x", page_size=0)
    with pytest.raises(ValueError, match="total_timeout"):
        session.stream("SELECT x", total_timeout=0)

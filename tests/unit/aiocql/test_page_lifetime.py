"""Pages are freed by reference counting as soon as the consumer drops them, never left for the
cycle collector, and the driver internals that this relies on are still where aiocql looks.

The fake ResponseFuture reproduces the driver's two reference cycles (callbacks that point at
the request, a cancelled timer that points back at the future); every test here runs with the
cycle collector disabled, so a page kept alive by a cycle stays alive and the test fails.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiocql import AsyncSession
from aiocql.request import DROP_SETTLED_TIMER
from aiocql.statements import BATCH_ENTRIES_VISIBLE
from cassandra.cluster import ResponseFuture
from cassandra.connection import Timer
from fakes import FakeDriverSession, FakeResponseFuture

Make = Callable[..., tuple[AsyncSession, FakeDriverSession]]

PAGE = 50
ROWS = 40 * PAGE


class Page(list[Any]):
    """A list that can be weakly referenced, so the test sees when a page dies."""


@pytest.fixture
def no_cycle_collector() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def paged_table(
    driver_ref: list[FakeDriverSession], pages: list[weakref.ref[Page]], threaded: bool
) -> Callable[[FakeResponseFuture], None]:
    """Serve ROWS rows in pages of PAGE; the fake driver keeps no future once it is answered
    (the real one keeps none either)."""

    def behaviour(rf: FakeResponseFuture) -> None:
        driver_ref[0].futures.remove(rf)
        offset = int(rf.paging_state_in or b"0")
        page = Page(range(offset, min(offset + PAGE, ROWS)))
        pages.append(weakref.ref(page))
        state = str(offset + PAGE).encode() if offset + PAGE < ROWS else None
        if threaded:  # answered from another thread once aiocql attached its callbacks
            rf.on_add = lambda f: f.complete_in_thread(page, state)
        else:
            rf.complete(page, state)

    return behaviour


async def driver_threads_done(driver: FakeDriverSession) -> None:
    """Wait until the fake IO thread (if any) returned from every callback before now: a
    thread's frame still running may hold a page for a moment, which is no leak."""
    reactor = getattr(driver.cluster, "connection_class", None)
    if reactor is None:
        return
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    reactor.create_timer(0, lambda: loop.call_soon_threadsafe(done.set))
    await asyncio.wait_for(done.wait(), 5)


@pytest.mark.usefixtures("no_cycle_collector")
@pytest.mark.parametrize("threaded", [False, True], ids=["inline", "io-thread"])
async def test_streamed_pages_die_without_the_cycle_collector(
    make_session: Make, threaded: bool
) -> None:
    driver_ref: list[FakeDriverSession] = []
    pages: list[weakref.ref[Page]] = []
    session, driver = make_session(paged_table(driver_ref, pages, threaded))
    driver_ref.append(driver)
    seen = 0
    async with session.stream("SELECT n FROM t", page_size=PAGE, prefetch=1) as stream:
        async for _ in stream:
            seen += 1
            # the consumer's page, one prefetched, one being handed over, and one the
            # driver thread that completed it may not have returned from yet, at most
            assert sum(ref() is not None for ref in pages) <= 4
    await driver_threads_done(driver)
    assert seen == ROWS
    assert len(pages) == ROWS // PAGE
    assert [ref for ref in pages if ref() is not None] == []


@pytest.mark.usefixtures("no_cycle_collector")
async def test_a_consumed_page_dies_while_the_next_one_is_fetched(make_session: Make) -> None:
    """The producer hands a page to the buffer and keeps nothing of it: once the consumer has
    dropped it, it is gone though the next page's request is still outstanding (held one step
    longer, the stream's live memory peaked at 2.5 pages of a 200k-row stream, 1.66 without)."""
    loop = asyncio.get_running_loop()
    sent: asyncio.Queue[FakeResponseFuture] = asyncio.Queue()
    session, driver = make_session(lambda rf: loop.call_soon_threadsafe(sent.put_nowait, rf))
    async with session.stream("SELECT n FROM t", page_size=PAGE, prefetch=1) as stream:
        pages = stream.pages()
        first = asyncio.ensure_future(pages.__anext__())
        page = Page(range(PAGE))
        consumed = weakref.ref(page)
        (await asyncio.wait_for(sent.get(), 5)).complete(page, b"1")
        driver.futures.clear()  # the fake driver would keep its answered futures
        del page
        rows = await first
        assert rows is consumed()
        del rows, first
        second = await asyncio.wait_for(sent.get(), 5)  # prefetching the next page
        await asyncio.sleep(0)  # the loop's handle that resumed us holds the done future
        await driver_threads_done(driver)
        assert consumed() is None
        second.complete(Page(range(PAGE, 2 * PAGE)), None)
        assert (await pages.__anext__())[0] == PAGE


@pytest.mark.usefixtures("no_cycle_collector")
async def test_executed_pages_die_with_their_result(make_session: Make) -> None:
    driver_ref: list[FakeDriverSession] = []
    pages: list[weakref.ref[Page]] = []
    session, driver = make_session(paged_table(driver_ref, pages, threaded=True))
    driver_ref.append(driver)
    result = await session.execute("SELECT n FROM t", fetch_size=PAGE)
    following = await result.next_page()
    assert following is not None
    assert following.rows[0] == PAGE
    assert pages[0]() is result.rows
    del result, following
    await asyncio.sleep(0)  # the loop's handle that resumed us holds the last future
    await driver_threads_done(driver)
    assert [ref for ref in pages if ref() is not None] == []


def test_the_driver_still_has_what_aiocql_reaches_into() -> None:
    """Fails when a driver upgrade moves what aiocql relies on (see request.DROP_SETTLED_TIMER
    and statements.batch_is_idempotent), instead of letting pages silently wait for the cycle
    collector or every batch silently count as not idempotent."""
    assert DROP_SETTLED_TIMER, "ResponseFuture no longer keeps its timer in _timer"
    assert BATCH_ENTRIES_VISIBLE, "BatchStatement no longer lists _statements_and_parameters"
    assert ResponseFuture._timer is None  # the class default aiocql restores

    def callback() -> None:
        pass

    timer = Timer(60, callback)
    timer.cancel()
    # the cycle itself: if a driver release drops the callback on cancel, the workaround in
    # aiocql.request is no longer needed and this assertion says so
    assert timer.callback is callback

"""The races and edge cases a review of aiocql found: two consumers on one stream, a session
closed while a request waits for the rate limiter, an idempotent batch holding a statement that
is not, and an exception raised by an ``on_page`` callback."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from aiocql import (
    AsyncSession,
    IdempotentRetryPolicy,
    PageInfo,
    RateLimiter,
    SessionClosedError,
    StreamBusyError,
)
from cassandra.policies import RetryPolicy, WriteType
from cassandra.query import BatchStatement, BatchType
from fakes import FakeDriverSession
from test_bridge_races import wait_for_requests
from test_stream import table

Make = Callable[..., tuple[AsyncSession, FakeDriverSession]]


async def test_a_second_consumer_gets_a_clear_error_and_the_first_is_unharmed(
    make_session: Make,
) -> None:
    session, driver = make_session()  # requests stay pending until the test answers them
    async with session.stream("SELECT n FROM t", page_size=10) as stream:
        first = asyncio.ensure_future(stream.__anext__())
        await wait_for_requests(driver, 1)
        with pytest.raises(StreamBusyError, match="one consumer at a time"):
            await stream.__anext__()
        driver.futures[0].complete_in_thread([1, 2], None)
        assert await asyncio.wait_for(first, 2) == 1
        assert [row async for row in stream] == [2]
    await session.close()


async def test_close_during_the_rate_limiter_wait_sends_nothing(make_session: Make) -> None:
    session, driver = make_session(
        lambda rf: rf.complete([]), rate_limiter=RateLimiter(rate=2, burst=1)
    )
    await session.execute("SELECT 1")  # takes the only slot of this half second
    waiting = asyncio.ensure_future(session.execute("SELECT 2"))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    assert len(driver.futures) == 1
    await session.close()
    with pytest.raises(SessionClosedError):
        await asyncio.wait_for(waiting, 2)
    assert [rf.query for rf in driver.futures] == ["SELECT 1"]  # nothing sent after close


async def test_idempotent_batch_with_a_statement_that_is_not_is_sent_as_not_idempotent(
    make_session: Make,
) -> None:
    session, driver = make_session(lambda rf: rf.complete([]))
    safe = await session.prepare("INSERT INTO t (k, v) VALUES (1, 1)")
    safe.is_idempotent = True
    unsafe = await session.prepare("UPDATE t SET n = n + 1 WHERE k = 1")  # not declared

    def batch(*statements: Any, kind: BatchType = BatchType.UNLOGGED) -> BatchStatement:
        b = BatchStatement(batch_type=kind)
        for statement in statements:
            b.add(statement)
        b.is_idempotent = True
        return b

    clean = batch(safe, safe)
    mixed = batch(safe, unsafe)
    text = batch(safe, "INSERT INTO t (k, v) VALUES (2, 2)")
    counter = batch(safe, kind=BatchType.COUNTER)
    for b in (clean, mixed, text, counter):
        await session.execute_batch(b)
    await session.execute(mixed)
    await session.execute_batch(batch(unsafe), idempotent=True)
    await session.execute_concurrent([(mixed, None)])
    sent = [rf.query for rf in driver.futures]
    assert sent[0] is clean
    assert clean.is_idempotent is True
    assert [b.is_idempotent for b in sent] == [True, False, False, False, False, False, False]
    assert mixed.is_idempotent is True  # the caller's batch is never changed

    # what that means for a write timeout: the policy retries the clean batch only
    policy = IdempotentRetryPolicy()
    decisions = [
        policy.on_write_timeout(b, 1, WriteType.UNLOGGED_BATCH, 1, 0, 0)[0] for b in sent[:3]
    ]
    assert decisions == [RetryPolicy.RETRY, RetryPolicy.RETHROW, RetryPolicy.RETHROW]


async def test_an_on_page_exception_reaches_the_consumer_in_place_of_that_page(
    make_session: Make,
) -> None:
    session, driver = make_session(table(100))
    error = ValueError("the test rejects page 2")

    def on_page(info: PageInfo) -> None:
        if info.number == 2:
            raise error

    rows: list[Any] = []

    async def consume() -> None:
        async with session.stream("SELECT n FROM t", page_size=10, on_page=on_page) as stream:
            async for row in stream:
                rows.append(row)

    with pytest.raises(ValueError, match="rejects page 2") as caught:
        await consume()
    assert caught.value is error
    assert rows == list(range(10))  # page 1 only: page 2 was refused before delivery
    assert len(driver.futures) == 2  # and nothing was fetched after it

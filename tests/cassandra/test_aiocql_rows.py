"""aiocql's rows against a real node: streamed pages freed without the cycle collector, one row
type per column shape (rebuilt when ALTER TABLE changes the columns), the driver's own row
factories still selectable, and query traces."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest
from aiocql import AsyncCluster, AsyncSession
from aiocql_setup import dc1_profile, wide_session
from cassandra.cluster import ResponseFuture
from cassandra.query import SimpleStatement, dict_factory
from cqltest.local import ClusterInfo

pytestmark = [pytest.mark.cassandra, pytest.mark.timeout(120)]

KS = "aiocql_rows"
PAGE = 100
PAGES = 20


@pytest.fixture(scope="module")
def session(cluster_single: ClusterInfo) -> Iterator[AsyncSession]:
    cluster = AsyncCluster(cluster_single.contact_points, port=cluster_single.port, local_dc="dc1")
    cluster.driver_cluster.add_execution_profile("dicts", dc1_profile(row_factory=dict_factory))
    yield asyncio.run(wide_session(cluster, KS, PAGE * PAGES, "value {:05}".format))
    asyncio.run(cluster.close())


def live_response_futures() -> int:
    # type(), not isinstance(): the heap may hold weak proxies to dead objects, on which
    # isinstance raises ReferenceError
    return sum(type(o) is ResponseFuture for o in gc.get_objects())


async def test_streamed_pages_are_freed_without_the_cycle_collector(
    session: AsyncSession,
) -> None:
    """Every page is freed by reference counting: with the cycle collector off, a stream of
    20 pages leaves none of its rows for gc.collect() and no ResponseFuture behind. Before
    the fix each page stayed in a reference cycle: thousands of objects per stream."""
    gc.collect()
    gc.disable()
    try:
        before = live_response_futures()
        rows = 0
        async with session.stream("SELECT p, c, v FROM wide", page_size=PAGE) as stream:
            async for _ in stream:
                rows += 1
        # the driver's IO thread lets go of the last page's future on its own time, which is
        # late on a busy machine; a future held by a cycle would never go, so the wait is bounded
        for _ in range(100):  # 5 s at most
            if live_response_futures() <= before:
                break
            await asyncio.sleep(0.05)
        left_futures = live_response_futures() - before
        # only this stream's own objects count: other sessions of the test process (the
        # driver's threads, heartbeats) may leave garbage of their own meanwhile
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            gc.collect()
            garbage = list(gc.garbage)
            gc.garbage.clear()
        finally:
            gc.set_debug(0)
    finally:
        gc.enable()
    assert rows == PAGE * PAGES
    assert left_futures <= 0, f"{left_futures} ResponseFutures outlived their stream"
    cyclic_rows = sum(getattr(type(o), "_fields", None) == ("p", "c", "v") for o in garbage)
    cyclic_futures = sum(type(o) is ResponseFuture for o in garbage)
    assert (cyclic_rows, cyclic_futures) == (0, 0), (
        f"{cyclic_rows} rows and {cyclic_futures} ResponseFutures of the stream were left for "
        "the cycle collector"
    )


async def test_one_row_type_per_column_shape(session: AsyncSession) -> None:
    pages: list[type] = []
    async with session.stream("SELECT p, c, v FROM wide", page_size=PAGE) as stream:
        async for page in stream.pages():
            pages.append(type(page[0]))
    assert len(pages) == PAGES
    assert set(pages) == {pages[0]}  # every page of the stream
    prepared = await session.prepare("SELECT p, c, v FROM wide WHERE p = 1 AND c = ?")
    by_prepared = (await session.execute(prepared, (7,))).one()
    by_text = (await session.execute("SELECT p, c, v FROM wide WHERE p = 1 AND c = 8")).one()
    assert type(by_prepared) is pages[0]  # other statements with the same columns
    assert type(by_text) is pages[0]
    assert by_prepared.v == by_prepared[2] == "value 00007"
    assert by_prepared._asdict() == {"p": 1, "c": 7, "v": "value 00007"}
    other = (await session.execute("SELECT c, v FROM wide WHERE p = 1 LIMIT 1")).one()
    assert type(other) is not pages[0]
    assert other._fields == ("c", "v")


async def test_row_type_is_rebuilt_when_alter_table_changes_the_columns(
    session: AsyncSession,
) -> None:
    await session.execute("DROP TABLE IF EXISTS altered", timeout=30)
    await session.execute("CREATE TABLE altered (k int PRIMARY KEY, a text)", timeout=30)
    await session.execute("INSERT INTO altered (k, a) VALUES (1, 'x')")
    select_all = await session.prepare("SELECT * FROM altered WHERE k = 1")
    before = (await session.execute(select_all)).one()
    assert before._asdict() == {"k": 1, "a": "x"}
    await session.execute("ALTER TABLE altered ADD b int", timeout=30)
    await session.execute("UPDATE altered SET b = 2 WHERE k = 1")
    for after in (
        (await session.execute(select_all)).one(),  # the server sends the new metadata
        (await session.execute("SELECT * FROM altered WHERE k = 1")).one(),
    ):
        assert type(after) is not type(before)
        assert after._asdict() == {"k": 1, "a": "x", "b": 2}
        assert after.b == after[2] == 2


async def test_driver_row_factories_stay_selectable(session: AsyncSession) -> None:
    row = (
        await session.execute(
            "SELECT p, c FROM wide WHERE p = 1 LIMIT 1", execution_profile="dicts"
        )
    ).one()
    assert row == {"p": 1, "c": 0}


async def test_query_trace_comes_back_from_the_node(session: AsyncSession) -> None:
    statement = SimpleStatement("SELECT v FROM wide WHERE p = 1 AND c = 3")
    traced = await session.execute(statement, trace=True)
    assert traced.one().v == "value 00003"
    trace = await traced.get_query_trace(max_wait=20)
    assert trace is not None
    assert trace.request_type == "Execute CQL3 query"
    assert trace.duration is not None
    assert trace.events, "a finished trace lists the node's events"
    assert trace.parameters["query"] == statement.query_string
    untraced = await session.execute(statement)
    assert await untraced.get_query_trace() is None

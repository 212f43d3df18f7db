"""aiocql against a real 1-node cluster: volume, paging, resumption, error identity,
lifecycle, backpressure and observability.

The cluster and session are module-scoped and created on a throwaway event loop, while every
test runs on its own function-scoped loop: the suite itself proves one session works across
successive event loops.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiocql import (
    AsyncCluster,
    AsyncSession,
    PageInfo,
    RequestEvent,
    ResultTooLarge,
    SessionClosedError,
)
from aiocql.prometheus import register_session
from aiocql_setup import dc1_profile, wide_session
from cassandra import ConsistencyLevel, InvalidRequest, OperationTimedOut, Unavailable
from cassandra.policies import FallthroughRetryPolicy
from cassandra.protocol import SyntaxException
from cassandra.query import BatchStatement, SimpleStatement
from cqltest.local import ClusterInfo
from prometheus_client import CollectorRegistry, generate_latest

pytestmark = [pytest.mark.cassandra, pytest.mark.timeout(120)]

KS = "aiocql_it"
ROWS = 2345


@pytest.fixture(scope="module")
def acluster(cluster_single: ClusterInfo) -> Iterator[AsyncCluster]:
    cluster = AsyncCluster(cluster_single.contact_points, port=cluster_single.port, local_dc="dc1")
    # a profile without retries, so server errors reach the caller as themselves (with one
    # node, RETRY_NEXT_HOST on Unavailable would end as NoHostAvailable)
    cluster.driver_cluster.add_execution_profile(
        "noretry", dc1_profile(retry_policy=FallthroughRetryPolicy())
    )
    yield cluster
    asyncio.run(cluster.close())


@pytest.fixture(scope="module")
def session(acluster: AsyncCluster) -> AsyncSession:
    setup = wide_session(acluster, KS, ROWS, "v{}".format, "kv (k int PRIMARY KEY, v text)")
    return asyncio.run(setup)  # a loop that is closed before any test runs


async def collect(session: AsyncSession, **kwargs: Any) -> list[Any]:
    async with session.stream("SELECT c FROM wide WHERE p = 1", **kwargs) as rows:
        return [row.c async for row in rows]


async def test_ten_thousand_concurrent_executes_all_return(session: AsyncSession) -> None:
    insert = await session.prepare("INSERT INTO kv (k, v) VALUES (?, ?)")
    before = session.stats()
    # the last of them waits for some 9 000 others to finish before it gets an in-flight slot:
    # on a loaded machine (load 20-28) that took more than the default 10 s request timeout
    results = await asyncio.gather(
        *(session.execute(insert, (i, "x"), timeout=60) for i in range(10_000))
    )
    assert len(results) == 10_000
    after = session.stats()
    assert after.requests - before.requests == 10_000
    assert after.errors == before.errors
    assert after.in_flight == 0
    assert after.in_flight_high_water <= 1024  # the default max_in_flight held
    count = await session.execute("SELECT count(*) FROM kv", timeout=30)
    assert count.one()[0] == 10_000


@pytest.mark.parametrize("page_size", [1, 100, 1000, 5000])
async def test_stream_yields_exactly_n_rows_in_order(session: AsyncSession, page_size: int) -> None:
    pages: list[PageInfo] = []
    threads: set[int] = set()

    def on_page(info: PageInfo) -> None:
        pages.append(info)
        threads.add(threading.get_ident())

    rows = await collect(session, page_size=page_size, on_page=on_page)
    assert rows == list(range(ROWS))
    assert all(p.rows <= page_size for p in pages)
    assert threads == {threading.get_ident()}
    if page_size == 1:
        assert len(pages) >= ROWS


async def test_pages_and_max_pages(session: AsyncSession) -> None:
    async with session.stream(
        "SELECT c FROM wide WHERE p = 1", page_size=100, max_pages=3
    ) as stream:
        pages = [[r.c for r in page] async for page in stream.pages()]
    assert pages == [list(range(i * 100, (i + 1) * 100)) for i in range(3)]


async def test_resume_from_paging_state(session: AsyncSession, acluster: AsyncCluster) -> None:
    first = await session.execute("SELECT c FROM wide WHERE p = 1", fetch_size=1000)
    assert [r.c for r in first.rows] == list(range(1000))
    assert first.has_more_pages
    rest = await collect(session, page_size=700, paging_state=first.paging_state)
    assert rest == list(range(1000, ROWS))
    second = await first.next_page()
    assert second is not None
    assert [r.c for r in second.rows] == list(range(1000, 2000))
    # the paging state is portable: another session resumes from it
    other = await acluster.connect(KS)
    try:
        resumed = await other.execute(
            "SELECT c FROM wide WHERE p = 1", fetch_size=1000, paging_state=first.paging_state
        )
        assert [r.c for r in resumed.rows] == list(range(1000, 2000))
    finally:
        await other.close()


async def test_execute_all_and_its_row_limit(session: AsyncSession) -> None:
    rows = await session.execute_all("SELECT c FROM wide WHERE p = 1", page_size=500)
    assert [r.c for r in rows] == list(range(ROWS))
    with pytest.raises(ResultTooLarge):
        await session.execute_all("SELECT c FROM wide WHERE p = 1", page_size=500, max_rows=1000)


ERROR_CASES = [
    pytest.param("SELEC c FROM wide", {}, SyntaxException, id="SyntaxException"),
    pytest.param("SELECT c FROM no_such_table", {}, InvalidRequest, id="InvalidRequest"),
    pytest.param(
        "SELECT c FROM wide WHERE p = 1",
        {"consistency_level": ConsistencyLevel.THREE, "execution_profile": "noretry"},
        Unavailable,
        id="Unavailable",
    ),
    pytest.param(
        "SELECT c FROM wide WHERE p = 1",
        {"timeout": 0.000_001},
        OperationTimedOut,
        id="OperationTimedOut",
    ),
]


@pytest.mark.parametrize(("cql", "options", "kind"), ERROR_CASES)
async def test_every_error_surfaces_identically_from_execute_and_stream(
    session: AsyncSession, cql: str, options: dict[str, Any], kind: type[BaseException]
) -> None:
    delivered: list[BaseException] = []

    def listener(event: RequestEvent) -> None:
        if event.error is not None:
            delivered.append(event.error)

    remove = session.add_listener(listener)
    try:
        with pytest.raises(kind) as from_execute:
            await session.execute(cql, **options)
        stream_options = dict(options)
        if "timeout" in stream_options:
            stream_options["page_timeout"] = stream_options.pop("timeout")
        with pytest.raises(kind) as from_stream:
            await collect_cql(session, cql, **stream_options)
    finally:
        remove()
    assert type(from_execute.value) is type(from_stream.value)
    # the very object the driver delivered is what the caller sees, from both entry points
    assert delivered == [from_execute.value, from_stream.value]
    assert delivered[0] is from_execute.value
    assert delivered[1] is from_stream.value


async def collect_cql(session: AsyncSession, cql: str, **kwargs: Any) -> list[Any]:
    async with session.stream(cql, **kwargs) as rows:
        return [row async for row in rows]


async def test_prepare_is_cached_and_single_flight(session: AsyncSession) -> None:
    text = "SELECT v FROM kv WHERE k = ?"
    prepared = await asyncio.gather(*(session.prepare(text) for _ in range(20)))
    assert all(p is prepared[0] for p in prepared)
    assert await session.prepare(text) is prepared[0]


async def test_batch_and_concurrent_results_in_order(session: AsyncSession) -> None:
    insert = await session.prepare("INSERT INTO kv (k, v) VALUES (?, ?)")
    batch = BatchStatement()
    for k in range(20_000, 20_010):
        batch.add(insert, (k, "b"))
    await session.execute_batch(batch)
    select = await session.prepare("SELECT k FROM kv WHERE k = ?")
    results = await session.execute_concurrent(
        [(select, (k,)) for k in range(20_009, 19_999, -1)], concurrency=3
    )
    assert [r.one().k for r in results] == list(range(20_009, 19_999, -1))


async def test_check_host_queries_that_host(
    session: AsyncSession, cluster_single: ClusterInfo
) -> None:
    health = await session.check_host(cluster_single.contact_points[0])
    assert health.up
    assert health.release_version is not None
    assert health.release_version.startswith("5.")
    with pytest.raises(ValueError, match="not a host of this cluster"):
        await session.check_host("10.255.255.1")


async def test_backpressure_and_loop_lag(acluster: AsyncCluster) -> None:
    session = await acluster.connect(KS, max_in_flight=8)
    try:
        loop = asyncio.get_running_loop()
        lags: list[float] = []
        stop = False

        async def heartbeat() -> None:
            while not stop:
                t = loop.time()
                await asyncio.sleep(0.01)
                lags.append(loop.time() - t - 0.01)

        beat = asyncio.ensure_future(heartbeat())
        insert = await session.prepare("INSERT INTO kv (k, v) VALUES (?, ?)")
        await asyncio.gather(*(session.execute(insert, (i, "bp")) for i in range(3000)))
        stop = True
        await beat
        stats = session.stats()
        assert stats.in_flight_high_water == 8
        assert stats.completed >= 3000
        # A loop blocked by the driver would stall for its borrow-connection wait (the request
        # timeout, 10 s); a loaded 2-core machine alone has stalled it for ~0.5 s.
        assert max(lags) < 2.0, f"event loop blocked for {max(lags):.3f}s"
    finally:
        await session.close()


async def test_close_fails_in_flight_requests_promptly(acluster: AsyncCluster) -> None:
    session = await acluster.connect(KS)
    select = await session.prepare("SELECT c FROM wide WHERE p = 1")
    tasks = [asyncio.ensure_future(session.execute(select)) for _ in range(2000)]
    await asyncio.sleep(0)
    started = time.monotonic()
    await session.close()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert time.monotonic() - started < 5
    failed = [r for r in results if isinstance(r, SessionClosedError)]
    assert failed, "some requests were still in flight when close() ran"
    assert all(isinstance(r, SessionClosedError) or hasattr(r, "rows") for r in results)
    with pytest.raises(SessionClosedError):
        await session.execute(select)
    await session.close()  # idempotent


async def test_stats_listeners_and_prometheus(session: AsyncSession) -> None:
    events: list[RequestEvent] = []
    remove = session.add_listener(events.append)
    try:
        await session.execute("SELECT c FROM wide WHERE p = 1 LIMIT 5")
        with pytest.raises(InvalidRequest):
            await session.execute("SELECT nope FROM wide")
    finally:
        remove()
    assert [(e.kind, e.outcome, e.rows, e.error_kind) for e in events] == [
        ("execute", "ok", 5, None),
        ("execute", "error", 0, "InvalidRequest"),
    ]
    stats = session.stats()
    assert stats.errors_by_kind.get("InvalidRequest", 0) >= 1
    # a cancelled request (a stream's prefetch, abandoned) has no latency and is no error
    assert stats.latency.count == stats.completed + stats.errors
    assert 0 < stats.latency.percentile(50) <= stats.latency.percentile(99) <= stats.latency.max
    registry = CollectorRegistry()
    register_session(session, registry, name="it")
    text = generate_latest(registry).decode()
    assert 'aiocql_requests_total{session="it"}' in text
    assert 'aiocql_errors_total{kind="InvalidRequest",session="it"}' in text
    assert "aiocql_request_latency_seconds_bucket" in text


async def test_statement_objects_are_not_mutated(session: AsyncSession) -> None:
    statement = SimpleStatement("SELECT c FROM wide WHERE p = 1", fetch_size=10)
    result = await session.execute(statement, fetch_size=50, idempotent=True)
    assert len(result.rows) == 50
    assert statement.fetch_size == 10
    assert statement.is_idempotent is False


def test_two_asyncio_run_loops_share_one_cluster(acluster: AsyncCluster) -> None:
    async def use() -> int:
        s = await acluster.connect(KS)
        try:
            return len((await s.execute("SELECT c FROM wide WHERE p = 1 LIMIT 7")).rows)
        finally:
            await s.close()

    assert asyncio.run(use()) == 7
    assert asyncio.run(use()) == 7

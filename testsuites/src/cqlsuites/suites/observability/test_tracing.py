"""Query tracing: the trace of each request kind is read back and its parts make sense."""

from __future__ import annotations

import asyncio

import pytest
from aiocql import AsyncCluster, AsyncSession
from cassandra import ConsistencyLevel
from cassandra.query import BatchStatement, SimpleStatement

from .traces import read_trace, trace_id_of

pytestmark = pytest.mark.usefixtures("tables")


def _addresses(cluster: AsyncCluster) -> set[str]:
    return {str(h.address) for h in cluster.metadata.all_hosts()}


async def test_traced_query_session_and_events(
    cql: AsyncSession, cql_cluster: AsyncCluster
) -> None:
    result = await cql.execute("SELECT v FROM kv WHERE k = 1", trace=True)
    trace = await read_trace(cql, trace_id_of(result))
    assert trace.coordinator == str(result.coordinator.address), (
        f"trace coordinator {trace.coordinator}, the driver was answered by {result.coordinator}"
    )
    assert trace.request == "Execute CQL3 query", trace.request
    assert "SELECT v FROM kv WHERE k = 1" in trace.parameters.get("query", ""), trace.parameters
    assert trace.duration_us > 0, f"trace duration {trace.duration_us} µs"
    assert trace.sources <= _addresses(cql_cluster), f"events from unknown nodes {trace.sources}"
    assert trace.coordinator in trace.sources, "the coordinator recorded no event"
    assert all(e.elapsed_us >= 0 and e.activity for e in trace.events), trace.events
    local = [e.elapsed_us for e in trace.events if e.source == trace.coordinator]
    assert max(local) <= trace.duration_us, (
        f"a coordinator event at {max(local)} µs is later than the whole request "
        f"({trace.duration_us} µs)"
    )


async def test_traced_lightweight_transaction_shows_paxos(cql: AsyncSession) -> None:
    await cql.execute("INSERT INTO kv (k, v) VALUES (7, 'taken')")
    result = await cql.execute("INSERT INTO kv (k, v) VALUES (7, 'mine') IF NOT EXISTS", trace=True)
    assert not result.one().applied
    trace = await read_trace(cql, trace_id_of(result))
    activities = [e.activity for e in trace.events]
    assert any("cas" in a.lower() or "paxos" in a.lower() for a in activities), (
        f"the trace of a conditional insert mentions neither CAS nor Paxos: {activities}"
    )


async def test_traced_prepared_statement(cql: AsyncSession) -> None:
    select = await cql.prepare("SELECT v FROM kv WHERE k = ?")
    trace = await read_trace(cql, trace_id_of(await cql.execute(select, (2,), trace=True)))
    assert trace.request == "Execute CQL3 prepared query", trace.request


async def test_traced_batch(cql: AsyncSession) -> None:
    batch = BatchStatement()
    batch.add("INSERT INTO kv (k, v) VALUES (3, 'a')")
    batch.add("INSERT INTO kv (k, v) VALUES (4, 'b')")
    trace = await read_trace(cql, trace_id_of(await cql.execute_batch(batch, trace=True)))
    assert trace.request == "Execute batch of CQL3 queries", trace.request


async def test_write_trace_names_every_replica(
    cql: AsyncSession, cql_cluster: AsyncCluster, keyspace: str
) -> None:
    insert = await cql.prepare("INSERT INTO kv (k, v) VALUES (?, ?)")
    bound = insert.bind((5, "everywhere"))
    bound.consistency_level = ConsistencyLevel.ALL
    replicas = {
        str(h.address) for h in cql_cluster.metadata.get_replicas(keyspace, bound.routing_key)
    }
    result = await cql.execute(bound, trace=True)
    trace = await read_trace(cql, trace_id_of(result), sources=frozenset(replicas))
    assert trace.sources - {trace.coordinator} <= replicas, (
        f"nodes {trace.sources - replicas - {trace.coordinator}} that are not replicas of the "
        f"key recorded events"
    )


async def test_driver_reads_the_same_trace(cql: AsyncSession) -> None:
    result = await cql.execute(SimpleStatement("SELECT v FROM kv WHERE k = 6"), trace=True)
    ours = await read_trace(cql, trace_id_of(result))
    async with asyncio.timeout(20):
        theirs = await result.get_query_trace(max_wait=10)
    assert theirs is not None, "aiocql found no trace for a traced request"
    assert str(theirs.coordinator) == ours.coordinator
    assert theirs.duration.total_seconds() * 1e6 == pytest.approx(ours.duration_us, abs=1)
    assert len(theirs.events) >= len(ours.events) > 0, (
        f"the driver read {len(theirs.events)} events, the suite {len(ours.events)}"
    )


async def test_untraced_request_has_no_trace(cql: AsyncSession) -> None:
    result = await cql.execute("SELECT v FROM kv WHERE k = 6")
    async with asyncio.timeout(20):
        assert await result.get_query_trace() is None, "an untraced request has a trace"

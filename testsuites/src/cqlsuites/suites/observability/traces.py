"""Reading a query trace back from ``system_traces`` without blocking the event loop.

The driver's own ``ResponseFuture.get_query_trace()`` polls with blocking calls; the suite
reads the same two tables through aiocql, waiting (bounded) until the trace is complete.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiocql import AsyncResult, AsyncSession
from cassandra import ConsistencyLevel
from cassandra.query import SimpleStatement

# system_traces is replicated (SimpleStrategy, RF 2) whatever the suite's keyspace says, and is
# written asynchronously: read at ONE and retry until the trace is whole.
_SESSION = SimpleStatement(
    "SELECT coordinator, duration, request, parameters, started_at FROM system_traces.sessions "
    "WHERE session_id = %s",
    consistency_level=ConsistencyLevel.ONE,
)
_EVENTS = SimpleStatement(
    "SELECT event_id, activity, source, source_elapsed, thread FROM system_traces.events "
    "WHERE session_id = %s",
    consistency_level=ConsistencyLevel.ONE,
)

TRACE_WAIT = 15.0


@dataclass(frozen=True)
class TraceEvent:
    activity: str
    source: str
    elapsed_us: int
    thread: str


@dataclass
class Trace:
    trace_id: uuid.UUID
    coordinator: str
    duration_us: int
    request: str
    parameters: dict[str, str]
    events: list[TraceEvent] = field(default_factory=list)

    @property
    def sources(self) -> set[str]:
        """Nodes that recorded at least one event: the coordinator and the replicas it used."""
        return {e.source for e in self.events}


def trace_id_of(result: AsyncResult) -> uuid.UUID:
    ids: list[uuid.UUID] = result.response_future.get_query_trace_ids()
    assert len(ids) == 1, f"a traced request returned trace ids {ids}"
    return ids[0]


async def read_trace(
    cql: AsyncSession, trace_id: uuid.UUID, *, sources: frozenset[str] = frozenset()
) -> Trace:
    """The complete trace: session row with a duration, events from every node in ``sources``."""
    last: Trace | None = None
    try:
        async with asyncio.timeout(TRACE_WAIT):
            while True:
                last = await _read_once(cql, trace_id)
                if last is not None and last.events and sources <= last.sources:
                    return last
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(
            f"trace {trace_id} incomplete after {TRACE_WAIT:g}s "
            f"(wanted events from {sorted(sources)}): {last}"
        ) from None


async def _read_once(cql: AsyncSession, trace_id: uuid.UUID) -> Trace | None:
    session = (await cql.execute(_SESSION, (trace_id,))).one()
    if session is None or session.duration is None:
        return None
    rows: list[Any] = await cql.execute_all(_EVENTS, (trace_id,))
    return Trace(
        trace_id=trace_id,
        coordinator=str(session.coordinator),
        duration_us=session.duration,
        request=session.request,
        parameters=dict(session.parameters or {}),
        events=[TraceEvent(r.activity, str(r.source), r.source_elapsed, r.thread) for r in rows],
    )

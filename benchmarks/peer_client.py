"""One client of ``benchmarks/peers.py``, alone in its own process, so the CPU time and RSS it
reports are that client's only. Runs under the peers' venv (peers.py builds it) with aiocql
from this checkout on ``PYTHONPATH``; prints one JSON object on stdout.

Every client is used the way its README shows, with its defaults: one session, prepared
statements, ``concurrency`` long-lived coroutines each awaiting one request at a time
(aiocql_bench's W loop), except the raw driver, which runs aiocql_bench's callback chain (R0)
and streams through its own synchronous paging. acsylla needs a small adapter coroutine (bind,
execute, and for selects decode the row into a tuple, as the driver-based clients' row factory
does before they return); its rows are decoded with ``as_tuple()`` while streaming for the same
reason.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

# peers.py starts this file with -P: ahead of the stdlib, benchmarks/operator.py would shadow
# the stdlib's operator module in a venv whose startup has not imported it already
sys.path.append(str(Path(__file__).resolve().parent))
from aiocql_bench import KEYSPACE, VALUE, RssPeak, Sample, run_r0, run_w, timed

CLIENTS = ("aiocql", "raw", "async-cassandra", "cassandra-asyncio-driver", "acsylla")
INSERT = f"INSERT INTO {KEYSPACE}.kv (k, v) VALUES (?, ?)"
SELECT = f"SELECT v FROM {KEYSPACE}.kv WHERE k = ?"
STREAM = f"SELECT p, c, v FROM {KEYSPACE}.wide"
WARMUP_OPS = 1000


@dataclass
class Client:
    """What the measurement needs from one library: how to run a phase and how to stream."""

    version: str
    phase: Callable[[Any, Callable[[int], Any], int, int], Awaitable[Sample] | Sample]
    insert: Any
    select: Any
    stream: Callable[[str, int], Awaitable[int] | int]


def _workers(session: Any) -> Callable[[Any, Callable[[int], Any], int, int], Awaitable[Sample]]:
    def phase(statement: Any, params: Callable[[int], Any], n: int, c: int) -> Awaitable[Sample]:
        return run_w(session, statement, params, n, c)

    return phase


async def _count(rows: AsyncIterator[Any]) -> int:
    n = 0
    async for _ in rows:
        n += 1
    return n


@asynccontextmanager
async def connect(name: str, host: str, port: int) -> AsyncIterator[Client]:
    # the imports live here: each process loads only its own client's library
    if name == "raw":
        from cassandra import __version__
        from cassandra.cluster import Cluster
        from cassandra.query import SimpleStatement

        cluster = Cluster([host], port=port)
        session = cluster.connect()

        def raw_phase(statement: Any, params: Callable[[int], Any], n: int, c: int) -> Sample:
            return run_r0(session, statement, params, n, c)

        def raw_stream(query: str, page_size: int) -> int:
            return sum(1 for _ in session.execute(SimpleStatement(query, fetch_size=page_size)))

        yield Client(
            __version__,
            raw_phase,
            session.prepare(INSERT),
            session.prepare(SELECT),
            raw_stream,
        )
        cluster.shutdown()
    elif name == "aiocql":
        import aiocql
        from cassandra import __version__ as driver

        async with aiocql.AsyncCluster([host], port=port) as acluster:
            asession = await acluster.connect()

            async def aiocql_stream(query: str, page_size: int) -> int:
                async with asession.stream(query, page_size=page_size) as rows:
                    return await _count(rows)

            yield Client(
                f"checkout (driver {driver})",
                _workers(asession),
                await asession.prepare(INSERT),
                await asession.prepare(SELECT),
                aiocql_stream,
            )
            await asession.close()
    elif name == "async-cassandra":
        from importlib.metadata import version

        from async_cassandra import AsyncCluster  # type: ignore[import-not-found, unused-ignore]
        from async_cassandra.streaming import StreamConfig  # type: ignore[import-not-found, unused-ignore]
        from cassandra.query import SimpleStatement

        async with AsyncCluster([host], port=port) as ac_cluster:
            ac_session = await ac_cluster.connect()

            async def ac_stream(query: str, page_size: int) -> int:
                statement = SimpleStatement(query, fetch_size=page_size)
                config = StreamConfig(fetch_size=page_size)
                async with await ac_session.execute_stream(statement, stream_config=config) as rs:
                    return await _count(rs)

            yield Client(
                version("async-cassandra"),
                _workers(ac_session),
                await ac_session.prepare(INSERT),
                await ac_session.prepare(SELECT),
                ac_stream,
            )
            await ac_session.close()
    elif name == "cassandra-asyncio-driver":
        from importlib.metadata import version
        from types import SimpleNamespace

        from cassandra.query import SimpleStatement
        from cassandra_asyncio.cluster import Cluster as AioCluster  # type: ignore[import-not-found, unused-ignore]

        aio_cluster = AioCluster([host], port=port)
        aio_session = aio_cluster.connect()

        async def aio_stream(query: str, page_size: int) -> int:
            rs = await aio_session.aexecute(SimpleStatement(query, fetch_size=page_size))
            return await _count(rs)

        yield Client(
            version("cassandra-asyncio-driver"),
            _workers(SimpleNamespace(execute=aio_session.aexecute)),
            aio_session.prepare(INSERT),
            aio_session.prepare(SELECT),
            aio_stream,
        )
        aio_cluster.shutdown()
    elif name == "acsylla":
        import acsylla  # type: ignore[import-not-found, unused-ignore]

        cluster = acsylla.create_cluster([host], port=port)
        session = await cluster.create_session()
        select = await session.create_prepared(SELECT)

        class Adapter:
            async def execute(self, prepared: Any, params: Any) -> None:
                result = await session.execute(prepared.bind(params))
                if prepared is select:
                    result.first().as_tuple()

        async def acsylla_stream(query: str, page_size: int) -> int:
            prepared = await session.create_prepared(query)
            n = 0
            async for row in prepared.bind(page_size=page_size):
                row.as_tuple()
                n += 1
            return n

        yield Client(
            acsylla.version.__version__,
            _workers(Adapter()),
            await session.create_prepared(INSERT),
            select,
            acsylla_stream,
        )
        await session.close()
    else:
        raise SystemExit(f"--client={name!r}: must be one of {', '.join(CLIENTS)}")


async def traced_peak(client: Client, page_size: int) -> float:
    """Peak MiB of Python objects alive at once during one more stream, over what was alive
    before it (tracemalloc): what the client itself keeps, without the allocator's arenas
    that RSS also counts. A separate stream, because tracing slows every allocation down."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        streamed = client.stream(STREAM, page_size)
        if not isinstance(streamed, int):
            await streamed
        return (tracemalloc.get_traced_memory()[1] - base) / 2**20
    finally:
        tracemalloc.stop()


def _phase_json(sample: Sample) -> dict[str, Any]:
    return {
        "ops": sample.ops,
        "wall": sample.wall,
        "cpu": sample.cpu,
        "errors": sample.errors,
        "latencies": [round(x, 7) for x in sample.latencies],
    }


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"client": args.client}
    async with connect(args.client, args.host, args.port) as client:
        out["version"] = client.version
        key_space = args.ops
        phases = {
            "insert": (client.insert, lambda i: (i % key_space, VALUE)),
            "select": (client.select, lambda i: (i % key_space,)),
        }
        for statement, params in phases.values():
            await timed(partial(client.phase, statement, params, WARMUP_OPS, args.concurrency))
        warm = client.stream(f"{STREAM} LIMIT {2 * args.page_size}", args.page_size)
        if not isinstance(warm, int):
            await warm
        for phase, (statement, params) in phases.items():
            sample = await timed(
                partial(client.phase, statement, params, args.ops, args.concurrency)
            )
            out[phase] = _phase_json(sample)
        with RssPeak() as rss:
            cpu0, wall0 = time.process_time(), time.perf_counter()
            streamed = client.stream(STREAM, args.page_size)
            rows = streamed if isinstance(streamed, int) else await streamed
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        out["stream"] = {"rows": rows, "wall": wall, "cpu": cpu, "rss_growth_mib": rss.growth_mib}
        out["stream"]["traced_peak_mib"] = await traced_peak(client, args.page_size)
        out["rss_mib"] = rss.process.memory_info().rss / 2**20
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--client", required=True, choices=CLIENTS)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ops", type=int, required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--page-size", type=int, required=True)
    args = parser.parse_args(argv)
    json.dump(asyncio.run(measure(args)), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())

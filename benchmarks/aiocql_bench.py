"""How much does aiocql cost over the raw cassandra-driver? Same node, same process, one run.

Variants, interleaved round by round (the order rotates each round so drift cancels out):

- R0  raw driver, callback chaining: ``concurrency`` chains of execute_async + add_callbacks
- R1  raw driver, ``execute_concurrent_with_args(concurrency=...)``
- W   aiocql, ``concurrency`` long-lived worker coroutines awaiting ``session.execute``
- Wg  aiocql, one task per request under ``asyncio.Semaphore(concurrency)`` (asyncio.gather)
- Wl  as W, but requests sent from the event-loop thread instead of the driver's IO thread
      (``AsyncSession(send_on_io_thread=False)``): what the cross-thread hand-off costs
- S   raw driver, synchronous ``session.execute`` in a loop (the floor; fewer operations)

The raw variants use a driver ``Cluster`` with its defaults (``named_tuple_factory`` rows);
the aiocql variants an ``AsyncCluster`` as a user builds it (cached row types), both against
the same node from this one process (the driver has one reactor thread per process).
Each variant runs a prepared single-row INSERT phase, then a single-row SELECT phase.
``eta`` = W ops/s ÷ R0 ops/s over all rounds; ``overhead_us_per_op`` = client CPU µs per op of
W minus R0 (process CPU time, so the co-located server's CPU is not counted); ``cpu_ratio_*``
= client CPU per op over R0's, per phase, with its rounds; ``context_switches_per_op`` counts
this process's voluntary + involuntary switches.

``--mode stream`` loads N rows (default 1 000 000) and reads them all back through an aiocql
stream and through the driver's own paging (``for row in session.execute(...)``), reporting
rows/s and peak RSS growth of each, also in pages (``page_mib``: one page's rows in memory).
``--row-work-us W`` gives both consumers W µs of CPU work per row (a busy loop, as a consumer
that parses or checks its rows): what fetching the next page during the consumer's work gains.

Starts its own 1-node local cluster (cqltest.local, tmp root, destroyed at exit) unless
``--contact-point`` is given, and splits the CPUs between that node and this process
(``--no-pin`` to share them). Prints JSON with ``--json``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import aiocql
import cassandra
import psutil
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.concurrent import execute_concurrent_with_args
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy
from cassandra.query import BatchStatement, BatchType, SimpleStatement

KEYSPACE = "aiocql_bench"
INSERT = f"INSERT INTO {KEYSPACE}.kv (k, v) VALUES (?, ?)"
SELECT = f"SELECT v FROM {KEYSPACE}.kv WHERE k = ?"
VARIANTS = ("R0", "W", "R1", "Wg", "Wl", "S")
PHASES = ("insert", "select")
VALUE = "x" * 32
# a node that has just started on a busy machine can take more than the driver's 2 s to
# answer the control connection's first queries
CONTROL_TIMEOUT = 30.0


@dataclass
class Sample:
    ops: int
    wall: float
    cpu: float
    latencies: list[float] = field(repr=False)
    errors: int = 0
    switches: int = 0  # context switches of this process (voluntary + involuntary)


# ---------------------------------------------------------------------------- the variants


def run_r0(session: Any, statement: Any, params: Callable[[int], Any], n: int, c: int) -> Sample:
    latencies: list[float] = []
    issued = itertools.count()
    finished = itertools.count(1)
    done = threading.Event()
    errors: list[BaseException] = []
    record = latencies.append
    execute_async = session.execute_async

    def start_one() -> None:
        i = next(issued)
        if i >= n:
            return
        f = execute_async(statement, params(i))
        f.add_callbacks(
            on_ok,
            on_error,
            callback_args=(time.perf_counter(),),
            errback_args=(time.perf_counter(),),
        )

    def on_ok(_rows: Any, t0: float) -> None:
        record(time.perf_counter() - t0)
        if next(finished) == n:
            done.set()
        start_one()

    def on_error(exc: BaseException, t0: float) -> None:
        errors.append(exc)
        on_ok(None, t0)

    for _ in range(min(c, n)):
        start_one()
    done.wait()
    return Sample(n, 0, 0, latencies, len(errors))


def run_r1(session: Any, statement: Any, params: Callable[[int], Any], n: int, c: int) -> Sample:
    results = execute_concurrent_with_args(
        session,
        statement,
        [params(i) for i in range(n)],
        concurrency=c,
        raise_on_first_error=False,
    )
    errors = sum(1 for ok, _ in results if not ok)
    return Sample(n, 0, 0, [], errors)


def run_s(session: Any, statement: Any, params: Callable[[int], Any], n: int, c: int) -> Sample:
    latencies: list[float] = []
    execute = session.execute
    for i in range(n):
        t0 = time.perf_counter()
        execute(statement, params(i))
        latencies.append(time.perf_counter() - t0)
    return Sample(n, 0, 0, latencies)


async def run_w(
    session: aiocql.AsyncSession, statement: Any, params: Callable[[int], Any], n: int, c: int
) -> Sample:
    latencies: list[float] = []
    issued = itertools.count()
    errors = 0

    async def worker() -> None:
        nonlocal errors
        execute = session.execute
        record = latencies.append
        perf = time.perf_counter
        for i in issued:
            if i >= n:
                return
            t0 = perf()
            try:
                await execute(statement, params(i))
            except Exception:
                errors += 1
            record(perf() - t0)

    await asyncio.gather(*(worker() for _ in range(min(c, n))))
    return Sample(n, 0, 0, latencies, errors)


async def run_wg(
    session: aiocql.AsyncSession, statement: Any, params: Callable[[int], Any], n: int, c: int
) -> Sample:
    latencies: list[float] = []
    semaphore = asyncio.Semaphore(c)
    errors = 0

    async def one(i: int) -> None:
        nonlocal errors
        async with semaphore:
            t0 = time.perf_counter()
            try:
                await session.execute(statement, params(i))
            except Exception:
                errors += 1
            latencies.append(time.perf_counter() - t0)

    await asyncio.gather(*(one(i) for i in range(n)))
    return Sample(n, 0, 0, latencies, errors)


# ---------------------------------------------------------------------------- measurement


def connect_raw(contact_point: str, port: int, local_dc: str, timeout: float) -> tuple[Any, Any]:
    """A raw driver cluster and session with the benchmark keyspace in place."""
    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=local_dc)),
        request_timeout=timeout,
    )
    cluster = Cluster(
        [contact_point],
        port=port,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        control_connection_timeout=CONTROL_TIMEOUT,
    )
    raw = cluster.connect()
    raw.execute(
        f"CREATE KEYSPACE IF NOT EXISTS {KEYSPACE} WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    )
    return cluster, raw


async def connect_aiocql(
    contact_point: str, port: int, local_dc: str, request_timeout: float, concurrency: int = 1024
) -> tuple[aiocql.AsyncCluster, aiocql.AsyncSession]:
    """aiocql as a user builds it: its own driver cluster, default profile and row factory."""
    acluster = aiocql.AsyncCluster(
        [contact_point],
        port=port,
        local_dc=local_dc,
        timeouts=aiocql.Timeouts(request=request_timeout),
        limits=aiocql.Limits(max_in_flight=max(1024, concurrency)),
        control_connection_timeout=CONTROL_TIMEOUT,
    )
    return acluster, await acluster.connect()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def _switches() -> int:
    counts = psutil.Process().num_ctx_switches()
    return int(counts.voluntary + counts.involuntary)


async def timed(fn: Callable[[], Any]) -> Sample:
    gc.collect()
    switches0 = _switches()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = fn()
    if asyncio.iscoroutine(result):
        result = await result
    sample: Sample = result
    sample.wall = time.perf_counter() - wall0
    sample.cpu = time.process_time() - cpu0
    sample.switches = _switches() - switches0
    return sample


def summarize(samples: list[Sample]) -> dict[str, Any]:
    ops = sum(s.ops for s in samples)
    wall = sum(s.wall for s in samples)
    cpu = sum(s.cpu for s in samples)
    latencies = [x for s in samples for x in s.latencies]
    per_round = [s.ops / s.wall for s in samples]
    out: dict[str, Any] = {
        "ops": ops,
        "ops_per_s": ops / wall,
        "ops_per_s_rounds": [round(x, 1) for x in per_round],
        "cpu_us_per_op": cpu / ops * 1e6,
        "context_switches_per_op": sum(s.switches for s in samples) / ops,
        "errors": sum(s.errors for s in samples),
    }
    if latencies:
        out["p50_ms"] = percentile(latencies, 50) * 1e3
        out["p99_ms"] = percentile(latencies, 99) * 1e3
    return out


async def ops_benchmark(
    contact_point: str,
    port: int,
    local_dc: str,
    rounds: int,
    ops: int,
    sync_ops: int,
    concurrency: int,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    cluster, raw = connect_raw(contact_point, port, local_dc, 30)
    raw.execute(f"CREATE TABLE IF NOT EXISTS {KEYSPACE}.kv (k int PRIMARY KEY, v text)")
    # aiocql as a user builds it (its own connections to the same node, its row factory); the
    # raw variants keep the driver's defaults (named_tuple_factory). Both share the process's
    # one reactor thread.
    acluster, asession = await connect_aiocql(contact_point, port, local_dc, 30, concurrency)
    # Wl: the same session's driver, requests sent from the event-loop thread (aiocql before
    # it sent them from the driver's IO thread): where the cross-thread hand-off costs
    lsession = aiocql.AsyncSession(
        asession.driver_session,
        acluster._executor,
        settings=acluster.settings,
        send_on_io_thread=False,
    )
    key_space = max(ops, sync_ops)
    raw_statements: dict[str, tuple[Any, Callable[[int], Any]]] = {
        "insert": (raw.prepare(INSERT), lambda i: (i % key_space, VALUE)),
        "select": (raw.prepare(SELECT), lambda i: (i % key_space,)),
    }
    aiocql_statements: dict[str, tuple[Any, Callable[[int], Any]]] = {
        "insert": (await asession.prepare(INSERT), lambda i: (i % key_space, VALUE)),
        "select": (await asession.prepare(SELECT), lambda i: (i % key_space,)),
    }

    def runner(variant: str, phase: str, n: int) -> Callable[[], Any]:
        if variant in ("R0", "R1", "S"):
            statement, params = raw_statements[phase]
        else:
            statement, params = aiocql_statements[phase]
        if variant == "R0":
            return lambda: run_r0(raw, statement, params, n, concurrency)
        if variant == "R1":
            return lambda: run_r1(raw, statement, params, n, concurrency)
        if variant == "S":
            return lambda: run_s(raw, statement, params, n, concurrency)
        if variant == "W":
            return lambda: run_w(asession, statement, params, n, concurrency)
        if variant == "Wl":
            return lambda: run_w(lsession, statement, params, n, concurrency)
        return lambda: run_wg(asession, statement, params, n, concurrency)

    # warm-up: every variant and phase once, small
    for variant in VARIANTS:
        for phase in PHASES:
            await timed(runner(variant, phase, min(2000, ops)))
    results: dict[str, dict[str, list[Sample]]] = {v: {p: [] for p in PHASES} for v in VARIANTS}
    for r in range(rounds):
        # ABBA: R0 and W always run back to back, and every variant alternates between early
        # and late positions, so drift in the (shared, noisy) machine cancels out
        order = VARIANTS if r % 2 == 0 else VARIANTS[::-1]
        for variant in order:
            for phase in PHASES:
                n = sync_ops if variant == "S" else ops
                sample = await timed(runner(variant, phase, n))
                results[variant][phase].append(sample)
                progress(
                    f"round {r + 1}/{rounds} {variant:>2} {phase:6} "
                    f"{sample.ops / sample.wall:8.0f} ops/s "
                    f"{sample.cpu / sample.ops * 1e6:6.1f} cpu-us/op"
                )
    variants: dict[str, Any] = {}
    for variant in VARIANTS:
        both = results[variant]["insert"] + results[variant]["select"]
        variants[variant] = {
            **summarize(both),
            **{phase: summarize(results[variant][phase]) for phase in PHASES},
        }

    def ratio(a: str, b: str, phase: str | None = None) -> float:
        x = variants[a] if phase is None else variants[a][phase]
        y = variants[b] if phase is None else variants[b][phase]
        return float(x["ops_per_s"] / y["ops_per_s"])

    per_round_eta = [
        (results["W"]["insert"][r].ops + results["W"]["select"][r].ops)
        / (results["W"]["insert"][r].wall + results["W"]["select"][r].wall)
        / (
            (results["R0"]["insert"][r].ops + results["R0"]["select"][r].ops)
            / (results["R0"]["insert"][r].wall + results["R0"]["select"][r].wall)
        )
        for r in range(rounds)
    ]
    per_round_overhead = [
        (
            (results["W"]["insert"][r].cpu + results["W"]["select"][r].cpu)
            / (results["W"]["insert"][r].ops + results["W"]["select"][r].ops)
            - (results["R0"]["insert"][r].cpu + results["R0"]["select"][r].cpu)
            / (results["R0"]["insert"][r].ops + results["R0"]["select"][r].ops)
        )
        * 1e6
        for r in range(rounds)
    ]

    def cpu_ratio(variant: str, phase: str) -> list[float]:
        """Client CPU per op of ``variant`` over R0's, round by round."""
        return [
            (w.cpu / w.ops) / (r.cpu / r.ops)
            for w, r in zip(results[variant][phase], results["R0"][phase], strict=True)
        ]

    def spread(values: list[float]) -> dict[str, Any]:
        return {
            "median": statistics.median(values),
            "min": min(values),
            "max": max(values),
            "rounds": [round(x, 3) for x in values],
        }

    stats = asession.stats()
    await lsession.close()
    await acluster.close()
    cluster.shutdown()
    return {
        "eta": statistics.median(per_round_eta),
        "eta_pooled": ratio("W", "R0"),
        "eta_insert": ratio("W", "R0", "insert"),
        "eta_select": ratio("W", "R0", "select"),
        "eta_rounds": [round(x, 4) for x in per_round_eta],
        "eta_quartiles": [round(q, 4) for q in statistics.quantiles(per_round_eta, n=4)]
        if rounds >= 2
        else None,
        "eta_Wg": ratio("Wg", "R0"),
        "eta_Wl": ratio("Wl", "R0"),
        "cpu_ratio_W_R0": {phase: spread(cpu_ratio("W", phase)) for phase in PHASES},
        "cpu_ratio_Wl_R0": {phase: spread(cpu_ratio("Wl", phase)) for phase in PHASES},
        "eta_R1": ratio("R1", "R0"),
        "overhead_us_per_op": statistics.median(per_round_overhead),
        "overhead_us_per_op_rounds": [round(x, 2) for x in per_round_overhead],
        "overhead_us_per_op_pooled": variants["W"]["cpu_us_per_op"]
        - variants["R0"]["cpu_us_per_op"],
        "overhead_wall_us_per_op": 1e6 / variants["W"]["ops_per_s"]
        - 1e6 / variants["R0"]["ops_per_s"],
        "concurrency": concurrency,
        "rounds": rounds,
        "ops_per_variant_phase_round": ops,
        "sync_ops_per_phase_round": sync_ops,
        "variants": variants,
        "aiocql_stats": {
            "requests": stats.requests,
            "errors": stats.errors,
            "in_flight_high_water": stats.in_flight_high_water,
        },
    }


# ---------------------------------------------------------------------------- wrapper only


class _DoneFuture:
    """A ResponseFuture stand-in that is already complete: isolates the wrapper's own cost."""

    __slots__ = ("_timer",)
    _paging_state = None
    ROWS: Any = ("row",)

    def add_callback(self, fn: Callable[..., Any], *args: Any) -> None:
        fn(self.ROWS, *args)

    def add_errback(self, fn: Callable[..., Any], *args: Any) -> None:
        pass

    def clear_callbacks(self) -> None:
        pass


class _NullDriverSession:
    keyspace = None

    def execute_async(self, *args: Any) -> _DoneFuture:
        return _DoneFuture()

    def shutdown(self) -> None:
        pass


async def wrapper_only(n: int, concurrency: int) -> dict[str, float]:
    """CPU µs/op of aiocql + asyncio with a driver that costs nothing (no threads, no
    server): the part of the overhead that is pure Python on the event-loop thread."""
    from concurrent.futures import ThreadPoolExecutor

    driver = _NullDriverSession()
    with ThreadPoolExecutor(1) as pool:
        session = aiocql.AsyncSession(driver, pool, max_in_flight=max(1024, concurrency))

        def raw() -> Sample:
            def ok(_rows: Any) -> None:
                pass

            for i in range(n):
                f = driver.execute_async("q", (i,))
                f.add_callback(ok)
                f.add_errback(ok)
            return Sample(n, 0, 0, [])

        best: dict[str, float] = {}
        for _ in range(3):
            for name, fn in (
                ("raw", raw),
                ("W", lambda: run_w(session, "q", lambda i: (i,), n, concurrency)),
            ):
                sample = await timed(fn)
                us = sample.cpu / sample.ops * 1e6
                best[name] = min(best.get(name, us), us)
        await session.close()
    return {
        "raw_us_per_op": best["raw"],
        "W_us_per_op": best["W"],
        "wrapper_python_us_per_op": best["W"] - best["raw"],
    }


# ---------------------------------------------------------------------------- streaming


class RssPeak:
    """Samples this process's RSS every few ms in a thread; reports the peak growth."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.base = 0
        self.peak = 0
        self._stop = threading.Event()

    def __enter__(self) -> RssPeak:
        gc.collect()
        self.base = self.peak = self.process.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            rss = self.process.memory_info().rss
            if rss > self.peak:
                self.peak = rss

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def growth_mib(self) -> float:
        return (self.peak - self.base) / 2**20


async def stream_benchmark(
    contact_point: str,
    port: int,
    local_dc: str,
    rows: int,
    page_size: int,
    rounds: int,
    progress: Callable[[str], None],
    row_work_us: float = 0.0,
) -> dict[str, Any]:
    cluster, raw = connect_raw(contact_point, port, local_dc, 60)
    raw.execute(
        f"CREATE TABLE IF NOT EXISTS {KEYSPACE}.wide (p int, c int, v text, PRIMARY KEY (p, c))"
    )
    per_partition = 1000
    partitions = (rows + per_partition - 1) // per_partition
    have = raw.execute(f"SELECT count(*) FROM {KEYSPACE}.wide", timeout=120).one()[0]
    if have != partitions * per_partition:
        progress(f"loading {partitions * per_partition} rows ...")
        raw.execute(f"TRUNCATE {KEYSPACE}.wide", timeout=120)
        insert = raw.prepare(f"INSERT INTO {KEYSPACE}.wide (p, c, v) VALUES (?, ?, ?)")
        batches = []
        for p in range(partitions):
            for start in range(0, per_partition, 100):
                batch = BatchStatement(batch_type=BatchType.UNLOGGED)
                for c in range(start, start + 100):
                    batch.add(insert, (p, c, VALUE))
                batches.append((batch, None))
            if len(batches) >= 2000:
                execute_concurrent(raw, batches)
                batches = []
        execute_concurrent(raw, batches)
    total = partitions * per_partition
    query = f"SELECT p, c, v FROM {KEYSPACE}.wide"

    work = row_work_us * 1e-6

    def busy() -> None:
        end = time.perf_counter() + work
        while time.perf_counter() < end:
            pass

    def raw_stream() -> int:
        n = 0
        for _ in raw.execute(SimpleStatement(query, fetch_size=page_size), timeout=60):
            n += 1
            if work:
                busy()
        return n

    acluster, asession = await connect_aiocql(contact_point, port, local_dc, 60)

    async def aiocql_stream() -> int:
        n = 0
        async with asession.stream(query, page_size=page_size, prefetch=1) as stream:
            async for _ in stream:
                n += 1
                if work:
                    busy()
        return n

    page = raw.execute(SimpleStatement(query, fetch_size=page_size)).current_rows
    page_mib = page_bytes(page) / 2**20
    out: dict[str, Any] = {"rows": total, "page_size": page_size, "page_mib": page_mib}
    out["row_work_us"] = row_work_us
    samples: dict[str, list[tuple[float, float]]] = {"raw": [], "aiocql": []}
    for r in range(rounds):
        for name in ("raw", "aiocql") if r % 2 == 0 else ("aiocql", "raw"):
            with RssPeak() as rss:
                t0 = time.perf_counter()
                n = raw_stream() if name == "raw" else await aiocql_stream()
                elapsed = time.perf_counter() - t0
            if n != total:
                raise SystemExit(f"{name} streamed {n} rows, expected {total}")
            samples[name].append((n / elapsed, rss.growth_mib))
            progress(
                f"stream round {r + 1}/{rounds} {name:6} {n / elapsed:9.0f} rows/s "
                f"peak RSS +{rss.growth_mib:.1f} MiB"
            )
    for name, values in samples.items():
        out[name] = {
            "rows_per_s": statistics.median(v[0] for v in values),
            "rows_per_s_rounds": [round(v[0]) for v in values],
            "peak_rss_growth_mib": max(v[1] for v in values),
            "peak_rss_growth_mib_rounds": [round(v[1], 1) for v in values],
            "peak_rss_growth_pages": max(v[1] for v in values) / page_mib,
        }
    out["ratio_rows_per_s"] = out["aiocql"]["rows_per_s"] / out["raw"]["rows_per_s"]
    await acluster.close()
    cluster.shutdown()
    return out


def page_bytes(rows: list[Any]) -> int:
    """Memory of one page of rows: the list, each row and each value it holds."""
    size = sys.getsizeof(rows)
    for row in rows:
        size += sys.getsizeof(row) + sum(sys.getsizeof(value) for value in row)
    return size


def execute_concurrent(session: Any, statements: list[tuple[Any, Any]]) -> None:
    from cassandra.concurrent import execute_concurrent as run

    for ok, result in run(session, statements, concurrency=64, raise_on_first_error=False):
        if not ok:
            raise SystemExit(f"loading failed: {result!r}")


# ---------------------------------------------------------------------------- main


def pin(pid: int, cpus: set[int]) -> int:
    """Pin every thread of ``pid`` to ``cpus``; threads it starts later inherit the mask."""
    pinned = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
            pinned += 1
        except OSError:
            pass  # the thread exited meanwhile
    return pinned


def split_cpus() -> tuple[set[int], set[int]] | None:
    """(server CPUs, client CPUs): the first half for the node, the rest for this process.

    The client and the co-located node otherwise fight over the same cores, and the kernel's
    migrations and the node's bursts land on whichever variant is running: the noise then
    swamps a difference of a few microseconds per request. Split, each side has its own cores,
    as a test pod and a Cassandra pod would.
    """
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        return None
    half = len(allowed) // 2
    return set(allowed[:half]), set(allowed[half:])


@contextmanager
def local_cluster(progress: Callable[[str], None], pin_cpus: bool) -> Any:
    from cqltest.local import ClusterSpec, DatacenterSpec, LocalCluster

    root = tempfile.mkdtemp(prefix="aiocql-bench-")
    spec = ClusterSpec(name="aiocql-bench", datacenters=[DatacenterSpec("dc1", 1)], heap="512M")
    cluster = LocalCluster.create(spec, root=root, owned=True)
    try:
        progress("starting a 1-node local cluster ...")
        info = cluster.start(timeout=180)
        split = split_cpus() if pin_cpus else None
        if split is not None:
            server, client = split
            pid = cluster.state.nodes[0].pid
            assert pid is not None
            threads = pin(pid, server)
            pin(os.getpid(), client)
            progress(
                f"pinned the node ({threads} threads) to CPUs {sorted(server)}, "
                f"this process to {sorted(client)}"
            )
        yield info.contact_points[0], info.port, "dc1", split
    finally:
        cluster.destroy()


def environment() -> dict[str, Any]:
    from cassandra.cluster import Cluster as DriverCluster

    try:
        from cassandra import cython_deps

        cython = bool(cython_deps.HAVE_CYTHON)
    except ImportError:
        cython = False
    return {
        "python": platform.python_version(),
        "driver": cassandra.__version__,
        "reactor": DriverCluster.connection_class.__name__,
        "cython": cython,
        "cpus": os.cpu_count(),
        "cpu_model": platform.processor() or platform.machine(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["ops", "stream", "all"], default="ops")
    parser.add_argument("--contact-point", help="use this node instead of starting one")
    parser.add_argument("--port", type=int, default=9042)
    parser.add_argument("--local-dc", default="dc1")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--ops", type=int, default=5_000, help="ops per variant/phase/round")
    parser.add_argument("--sync-ops", type=int, default=300, help="ops per phase/round for S")
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--stream-rows", type=int, default=1_000_000)
    parser.add_argument("--page-size", type=int, default=5000)
    parser.add_argument("--stream-rounds", type=int, default=2)
    parser.add_argument("--row-work-us", type=float, default=0.0, help="stream consumers' CPU")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="do not split the CPUs between the node it starts and this process",
    )
    args = parser.parse_args(argv)
    for name in (
        "rounds",
        "ops",
        "sync_ops",
        "concurrency",
        "stream_rows",
        "page_size",
        "stream_rounds",
    ):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')}={getattr(args, name)}: must be >= 1")

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    async def run(
        contact_point: str, port: int, local_dc: str, split: tuple[set[int], set[int]] | None
    ) -> dict[str, Any]:
        report: dict[str, Any] = {"environment": environment()}
        report["environment"]["pinned"] = (
            None if split is None else {"server": sorted(split[0]), "client": sorted(split[1])}
        )
        if args.mode in ("ops", "all"):
            report["wrapper_only"] = await wrapper_only(100_000, args.concurrency)
            report.update(
                await ops_benchmark(
                    contact_point,
                    port,
                    local_dc,
                    args.rounds,
                    args.ops,
                    args.sync_ops,
                    args.concurrency,
                    progress,
                )
            )
        if args.mode in ("stream", "all"):
            report["stream"] = await stream_benchmark(
                contact_point,
                port,
                local_dc,
                args.stream_rows,
                args.page_size,
                args.stream_rounds,
                progress,
                args.row_work_us,
            )
        return report

    if args.contact_point:
        report = asyncio.run(run(args.contact_point, args.port, args.local_dc, None))
    else:
        with local_cluster(progress, args.pin) as (contact_point, port, local_dc, split):
            report = asyncio.run(run(contact_point, port, local_dc, split))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key in ("eta", "eta_insert", "eta_select", "eta_Wg", "eta_Wl", "overhead_us_per_op"):
            if key in report:
                print(f"{key:>22}: {report[key]:.4f}")
        for variant, values in report.get("variants", {}).items():
            print(
                f"{variant:>4}: {values['ops_per_s']:9.0f} ops/s "
                f"cpu {values['cpu_us_per_op']:6.1f} us/op "
                f"p50 {values.get('p50_ms', float('nan')):6.2f} ms "
                f"p99 {values.get('p99_ms', float('nan')):6.2f} ms"
            )
        if "stream" in report:
            print(json.dumps(report["stream"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

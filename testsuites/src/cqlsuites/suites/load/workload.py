"""The load generator: three data models and a worker pool driving them at a rate or flat out.

Every value written is a pure function of its key, so any read, whoever wrote the row and
whenever, can be checked byte for byte: a load run proves the cluster returns the data it was
given, not only that it answers quickly.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiocql import AsyncSession
from aiocql.ratelimit import RateLimiter
from cassandra import ConsistencyLevel
from cassandra.query import PreparedStatement

from cqlsuites.kit import DDL_TIMEOUT, REQUEST_FAILURES

REQUEST_TIMEOUT = 10.0
WIDE_ROWS = 100  # clustering rows a wide-row partition grows to
SERIES_READ = 10  # newest rows a time-series read fetches
SERIES_TTL = 3600


def value_for(row_size: int, *key: int) -> bytes:
    """The ``row_size`` bytes stored under ``key``: deterministic, so every read is checkable."""
    seed = hashlib.blake2b(repr(key).encode(), digest_size=32).digest()
    return (seed * (row_size // len(seed) + 1))[:row_size]


@dataclass
class Profile:
    """One data model: its table, and how it writes and reads a random key."""

    name: str
    table: str
    ddl: str
    write_cql: str
    read_cql: str

    def write_args(self, rng: random.Random, partitions: int, row_size: int) -> tuple[Any, ...]:
        p = rng.randrange(partitions)
        if self.name == "kv":
            return (p, value_for(row_size, p))
        if self.name == "wide-row":
            c = rng.randrange(WIDE_ROWS)
            return (p, c, value_for(row_size, p, c))
        ts = time.time_ns() // 1000 + rng.randrange(1000)  # µs, spread so writers rarely collide
        return (p, _bucket(), ts // 1000, value_for(row_size, p, ts // 1000))

    def read_args(self, rng: random.Random, partitions: int) -> tuple[Any, ...]:
        p = rng.randrange(partitions)
        if self.name == "kv":
            return (p,)
        if self.name == "wide-row":
            return (p, rng.randrange(WIDE_ROWS))
        return (p, _bucket())

    def partition_read(self, written: tuple[Any, ...]) -> tuple[Any, ...]:
        """Read args that fetch the partition ``written`` went to (wide-row: from its start)."""
        if self.name == "kv":
            return written[:1]
        if self.name == "wide-row":
            return (written[0], 0)
        return written[:2]

    def check(self, args: tuple[Any, ...], rows: list[Any], row_size: int) -> list[str]:
        """Why the rows a read returned are wrong (empty when they are all right)."""
        wrong = []
        for row in rows:
            key: tuple[int, ...]
            if self.name == "kv":
                key = (row.k,)
            elif self.name == "wide-row":
                key = (row.p, row.c)
            else:
                key = (row.p, (row.ts - _EPOCH) // timedelta(milliseconds=1))
            if row.v != value_for(row_size, *key):
                wrong.append(f"{self.name} row {key} holds {len(row.v)} bytes not written there")
        if self.name == "time-series":
            stamps = [row.ts for row in rows]
            if stamps != sorted(stamps, reverse=True):
                wrong.append(f"time-series partition {args} not newest first: {stamps}")
        return wrong


# The driver returns timestamps as naive UTC datetimes.
_EPOCH = datetime(1970, 1, 1)


def _bucket() -> int:
    return int(time.time() // 60)


PROFILES = {
    "kv": Profile(
        "kv",
        "load_kv",
        "CREATE TABLE IF NOT EXISTS load_kv (k bigint PRIMARY KEY, v blob)",
        "INSERT INTO load_kv (k, v) VALUES (?, ?)",
        "SELECT k, v FROM load_kv WHERE k = ?",
    ),
    "wide-row": Profile(
        "wide-row",
        "load_wide",
        "CREATE TABLE IF NOT EXISTS load_wide (p bigint, c bigint, v blob, PRIMARY KEY (p, c))",
        "INSERT INTO load_wide (p, c, v) VALUES (?, ?, ?)",
        # a slice from a random row onwards: the wide-row read pattern, not a point lookup
        f"SELECT p, c, v FROM load_wide WHERE p = ? AND c >= ? LIMIT {SERIES_READ}",
    ),
    "time-series": Profile(
        "time-series",
        "load_series",
        "CREATE TABLE IF NOT EXISTS load_series (p bigint, bucket bigint, ts timestamp, "
        "v blob, PRIMARY KEY ((p, bucket), ts)) WITH CLUSTERING ORDER BY (ts DESC) "
        f"AND default_time_to_live = {SERIES_TTL}",
        "INSERT INTO load_series (p, bucket, ts, v) VALUES (?, ?, ?, ?)",
        f"SELECT p, ts, v FROM load_series WHERE p = ? AND bucket = ? LIMIT {SERIES_READ}",
    ),
}


@dataclass
class LoadReport:
    """What one workload did, second by second."""

    profile: str
    elapsed: float = 0.0
    reads: int = 0
    writes: int = 0
    rows_read: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)
    per_second: Counter[int] = field(default_factory=Counter)

    @property
    def operations(self) -> int:
        return self.reads + self.writes + sum(self.errors.values())

    @property
    def ops_per_second(self) -> float:
        return self.operations / self.elapsed if self.elapsed > 0 else 0.0

    def summary(self) -> str:
        errors = dict(self.errors) or "none"
        return (
            f"{self.profile}: {self.operations} ops in {self.elapsed:.2f}s "
            f"({self.ops_per_second:.0f}/s; {self.reads} reads, {self.writes} writes, "
            f"errors {errors})"
        )


@dataclass
class Workload:
    """The knobs of one run (the suite's params, coerced)."""

    profile: Profile
    duration: float
    rate: float = 0.0
    concurrency: int = 16
    consistency: str = "LOCAL_QUORUM"
    read_ratio: float = 0.5
    row_size: int = 100
    partitions: int = 1000
    seed: int = 0


async def prepare(cql: AsyncSession, workload: Workload) -> tuple[Any, Any]:
    """Create the profile's table and prepare its statements at the workload's consistency."""
    await cql.execute(workload.profile.ddl, timeout=DDL_TIMEOUT)
    level = ConsistencyLevel.name_to_value[workload.consistency]
    statements = []
    for text in (workload.profile.write_cql, workload.profile.read_cql):
        prepared: PreparedStatement = await cql.prepare(text)
        prepared.consistency_level = level
        statements.append(prepared)
    return statements[0], statements[1]


async def run(cql: AsyncSession, workload: Workload) -> LoadReport:
    """Drive the workload for its duration; never longer than duration + one request timeout."""
    write, read = await prepare(cql, workload)
    report = LoadReport(workload.profile.name)
    limiter = RateLimiter(workload.rate) if workload.rate > 0 else None
    start = time.monotonic()
    end = start + workload.duration
    profile, rows_size, partitions = workload.profile, workload.row_size, workload.partitions

    async def worker(index: int) -> None:
        rng = random.Random(workload.seed * 1_000_003 + index)
        while True:
            if limiter is not None:
                await limiter.acquire()
            if time.monotonic() >= end:
                return
            reading = rng.random() < workload.read_ratio
            args = profile.read_args(rng, partitions) if reading else None
            try:
                if args is not None:
                    rows = list((await cql.execute(read, args, timeout=REQUEST_TIMEOUT)).rows)
                    report.reads += 1
                    report.rows_read += len(rows)
                    report.wrong += profile.check(args, rows, rows_size)
                else:
                    written = profile.write_args(rng, partitions, rows_size)
                    await cql.execute(write, written, timeout=REQUEST_TIMEOUT)
                    report.writes += 1
            except REQUEST_FAILURES as exc:
                report.errors[type(exc).__name__] += 1
            report.per_second[int(time.monotonic() - start)] += 1

    async with asyncio.timeout(workload.duration + REQUEST_TIMEOUT + 30):
        async with asyncio.TaskGroup() as group:
            for index in range(workload.concurrency):
                group.create_task(worker(index))
    report.elapsed = time.monotonic() - start
    return report

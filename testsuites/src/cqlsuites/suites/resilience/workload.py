"""A steady write/read workload that remembers every acknowledged write, and reads them all back.

Each write goes to a fresh key with a value derived from it, so "acknowledged" is exact: once
the cluster answered a write, that key must read back with that value at the same consistency,
whatever the TestRun's faults did meanwhile. Every failed request is kept with its time and
kind, which gives the error window (first to last failure) and the time until throughput was
back to its level before the first failure.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiocql import AsyncSession
from cassandra import ConsistencyLevel

from cqlsuites.kit import DDL_TIMEOUT, REQUEST_FAILURES

REQUEST_TIMEOUT = 5.0
RECOVERED_SHARE = 0.9
"""Throughput counts as recovered at this share of its median before the first failure."""
PROBE_INTERVAL = 0.2
READ_BACK_PAUSE = 1.0


def value_for(key: int) -> bytes:
    return hashlib.blake2b(key.to_bytes(8, "big", signed=True), digest_size=16).digest()


@dataclass
class Workload:
    """The suite's params, coerced."""

    consistency: str
    concurrency: int
    duration: float
    keys: int
    read_ratio: float
    recovery_wait: float
    probe_consistency: str | None = None


@dataclass
class Report:
    """What happened during the run and the read-back."""

    consistency: str
    started: float = 0.0
    elapsed: float = 0.0
    acknowledged: list[int] = field(default_factory=list)
    writes_failed: int = 0
    reads: int = 0
    reads_failed: int = 0
    stale_reads: list[int] = field(default_factory=list)
    failures: list[tuple[float, str]] = field(default_factory=list)
    """(seconds since the start, error kind) of every failed request of the workload."""
    per_second: Counter[int] = field(default_factory=Counter)
    """Successful requests per whole second since the start."""
    lost: list[int] = field(default_factory=list)
    read_back_seconds: float = 0.0
    probe_ok: int = 0
    probe_errors: Counter[str] = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        return len(self.acknowledged) + self.writes_failed + self.reads + self.reads_failed

    @property
    def errors_by_kind(self) -> Counter[str]:
        return Counter(kind for _, kind in self.failures)

    @property
    def error_window(self) -> float:
        if not self.failures:
            return 0.0
        return self.failures[-1][0] - self.failures[0][0]

    @property
    def recovery(self) -> float | None:
        """Seconds from the first failure until a whole second reached the earlier pace."""
        if not self.failures:
            return 0.0
        first = self.failures[0][0]
        before = [self.per_second[s] for s in range(int(first))]
        if not before:
            return None  # failing from the start: no pace to recover to
        target = RECOVERED_SHARE * statistics.median(before)
        last = self.failures[-1][0]
        for second in range(int(last) + 1, int(self.elapsed)):
            if self.per_second[second] >= target:
                return second - first
        return None

    def metrics(self) -> dict[str, Any]:
        """The figures the TestRun's thresholds and status read (camelCase, as metrics are)."""
        return {
            "acknowledgedWrites": len(self.acknowledged),
            "workloadOpsPerSecond": round(self.requests / self.elapsed, 3) if self.elapsed else 0.0,
            "lostWrites": len(self.lost),
            "errorWindowSeconds": round(self.error_window, 3),
            "recoverySeconds": None if self.recovery is None else round(self.recovery, 3),
            "failedWrites": self.writes_failed,
            "failedReads": self.reads_failed,
            "staleReads": len(self.stale_reads),
            "workloadErrorsByKind": dict(sorted(self.errors_by_kind.items())),
            "probeWrites": self.probe_ok + sum(self.probe_errors.values()),
            "probeErrorsByKind": dict(sorted(self.probe_errors.items())),
        }

    def summary(self) -> str:
        errors = dict(self.errors_by_kind) or "none"
        recovery = "n/a" if self.recovery is None else f"{self.recovery:.1f}s"
        return (
            f"{self.consistency}: {self.requests} requests in {self.elapsed:.1f}s, "
            f"{len(self.acknowledged)} writes acknowledged, {self.writes_failed} failed, "
            f"{self.reads} reads ({self.reads_failed} failed, {len(self.stale_reads)} stale), "
            f"errors {errors}, error window {self.error_window:.1f}s, recovery {recovery}, "
            f"lost {len(self.lost)}"
        )


async def prepare(cql: AsyncSession, level: str) -> tuple[Any, Any]:
    await cql.execute(
        "CREATE TABLE IF NOT EXISTS resilience_kv (k bigint PRIMARY KEY, v blob)",
        timeout=DDL_TIMEOUT,
    )
    write = await cql.prepare("INSERT INTO resilience_kv (k, v) VALUES (?, ?)")
    read = await cql.prepare("SELECT v FROM resilience_kv WHERE k = ?")
    for statement in (write, read):
        statement.consistency_level = ConsistencyLevel.name_to_value[level]
    return write, read


async def run(cql: AsyncSession, workload: Workload) -> Report:
    """Drive the workload for its duration, then read every acknowledged write back."""
    write, read = await prepare(cql, workload.consistency)
    probe = None
    if workload.probe_consistency is not None:
        # other text than the workload's write: prepared statements are shared per text
        probe = await cql.prepare("INSERT INTO resilience_kv (v, k) VALUES (?, ?)")
        probe.consistency_level = ConsistencyLevel.name_to_value[workload.probe_consistency]
    report = Report(workload.consistency)
    start = report.started = time.monotonic()
    end = start + workload.duration
    next_key = iter(range(workload.keys))

    def failed(exc: BaseException) -> None:
        report.failures.append((time.monotonic() - start, type(exc).__name__))

    async def worker(index: int) -> None:
        rng = random.Random(index)
        acked = report.acknowledged
        while time.monotonic() < end:
            reading = bool(acked) and rng.random() < workload.read_ratio
            try:
                if reading:
                    key = acked[rng.randrange(len(acked))]
                    rows = list((await cql.execute(read, (key,), timeout=REQUEST_TIMEOUT)).rows)
                    report.reads += 1
                    if not rows or rows[0].v != value_for(key):
                        report.stale_reads.append(key)
                else:
                    key = next(next_key, -1)
                    if key < 0:  # every key written: the rest of the run only reads
                        await asyncio.sleep(0.01)
                        continue
                    await cql.execute(write, (key, value_for(key)), timeout=REQUEST_TIMEOUT)
                    acked.append(key)
            except REQUEST_FAILURES as exc:
                if reading:
                    report.reads_failed += 1
                else:
                    report.writes_failed += 1
                failed(exc)
                continue
            report.per_second[int(time.monotonic() - start)] += 1

    async def prober() -> None:
        assert probe is not None
        key = -1
        while time.monotonic() < end:
            try:
                await cql.execute(probe, (value_for(key), key), timeout=REQUEST_TIMEOUT)
                report.probe_ok += 1
            except REQUEST_FAILURES as exc:
                report.probe_errors[type(exc).__name__] += 1
            key -= 1
            await asyncio.sleep(PROBE_INTERVAL)

    async with asyncio.timeout(workload.duration + REQUEST_TIMEOUT + 30):
        async with asyncio.TaskGroup() as group:
            for index in range(workload.concurrency):
                group.create_task(worker(index))
            if probe is not None:
                group.create_task(prober())
    report.elapsed = time.monotonic() - start
    await read_back(cql, read, workload, report)
    return report


async def read_back(cql: AsyncSession, read: Any, workload: Workload, report: Report) -> None:
    """Read every acknowledged write; what fails or is missing is retried until recoveryWait
    (a node may still be restarting, hints may still be on their way), then counted lost."""
    began = time.monotonic()
    deadline = began + workload.recovery_wait
    pending = sorted(report.acknowledged)
    while pending:
        results = await cql.execute_concurrent(
            ((read, (key,)) for key in pending),
            concurrency=max(16, workload.concurrency * 2),
            return_exceptions=True,
            timeout=REQUEST_TIMEOUT,
        )
        missing = []
        for key, outcome in zip(pending, results, strict=True):
            if isinstance(outcome, BaseException):
                missing.append(key)
                continue
            rows = list(outcome.rows)
            if not rows or rows[0].v != value_for(key):
                missing.append(key)
        pending = missing
        if not pending or time.monotonic() >= deadline:
            break
        await asyncio.sleep(READ_BACK_PAUSE)
    report.lost = pending
    report.read_back_seconds = time.monotonic() - began

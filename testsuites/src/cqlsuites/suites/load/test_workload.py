"""The main workload: it runs as long, as fast and as mixed as asked, and reads back true data."""

from __future__ import annotations

import dataclasses
import math

import pytest
from aiocql import AsyncSession

from cqlsuites.plugin import SuiteReporter
from cqlsuites.suites.load.workload import REQUEST_TIMEOUT, LoadReport, Workload, run

# Scheduling jitter on a busy 2-core machine: a rate within 10% is held.
RATE_TOLERANCE = 0.10
CHECK_RATE = 100.0  # most ops/s of the rate check when the run itself is unthrottled


def test_runs_for_the_requested_duration(load_report: LoadReport, workload: Workload) -> None:
    assert load_report.elapsed >= workload.duration, load_report.summary()
    # A worker may finish its last request after the deadline, never more than that.
    assert load_report.elapsed <= workload.duration + REQUEST_TIMEOUT, load_report.summary()
    assert load_report.operations > 0, f"no operation completed: {load_report.summary()}"


def test_completes_operations_every_second(load_report: LoadReport) -> None:
    full_seconds = int(load_report.elapsed)
    stalled = [s for s in range(full_seconds) if load_report.per_second[s] == 0]
    assert not stalled, f"no operation completed in second(s) {stalled}: {load_report.summary()}"


def test_most_operations_succeed(load_report: LoadReport) -> None:
    # The error rate is the thresholds' to judge; a run where nothing succeeds measured nothing.
    succeeded = load_report.reads + load_report.writes
    assert succeeded > load_report.operations / 2, load_report.summary()


def test_read_write_mix_follows_read_ratio(load_report: LoadReport, workload: Workload) -> None:
    done = load_report.reads + load_report.writes
    ratio = load_report.reads / done
    p = workload.read_ratio
    if p in (0.0, 1.0):
        assert ratio == p, f"readRatio={p} but {ratio:.3f} of operations were reads"
        return
    tolerance = max(0.02, 4 * math.sqrt(p * (1 - p) / done))  # 4 sigma of a binomial mix
    assert abs(ratio - p) <= tolerance, (
        f"readRatio={p} but {ratio:.3f} of {done} operations were reads (tolerance {tolerance:.3f})"
    )


def test_reads_return_exactly_what_was_written(load_report: LoadReport, workload: Workload) -> None:
    if workload.read_ratio in (0.0, 1.0):
        pytest.skip(f"readRatio={workload.read_ratio}: the workload does not read its writes")
    assert not load_report.wrong, f"{len(load_report.wrong)} wrong reads: {load_report.wrong[:5]}"
    assert load_report.rows_read > 0, (
        f"no read found a written row, nothing was checked: {load_report.summary()}"
    )


async def test_target_rate_is_held(
    cql: AsyncSession, load_report: LoadReport, workload: Workload
) -> None:
    report, target = load_report, workload.rate
    if target <= 0:
        # The run was unthrottled: prove the rate limiter on a short run at a rate the
        # cluster just showed it can sustain twice over.
        target = min(CHECK_RATE, max(1.0, round(load_report.ops_per_second / 2)))
        short = dataclasses.replace(workload, rate=target, duration=2.0, seed=1)
        report = await run(cql, short)
    achieved = report.operations / report.elapsed
    assert abs(achieved - target) <= RATE_TOLERANCE * target, (
        f"target {target:g} ops/s, achieved {achieved:.1f}: {report.summary()}"
    )


def test_operations_reach_the_suite_metrics(
    load_report: LoadReport, cqlsuites_reporter: SuiteReporter
) -> None:
    metrics = cqlsuites_reporter.stats.to_json()
    assert metrics["operations"] >= load_report.operations, (
        f"the result's metrics count {metrics['operations']} operations, "
        f"the workload made {load_report.operations}"
    )
    latency = metrics["latencyMs"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"], latency
    assert latency["max"] <= (REQUEST_TIMEOUT + 1) * 1000, latency

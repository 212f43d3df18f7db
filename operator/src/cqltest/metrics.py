"""Prometheus metrics for TestRuns, computed from their status documents.

The status is the single source of truth, so metrics are derived from it at scrape time by a
custom collector rather than incremented along the way: a run re-observed after an operator
restart, or a suite retried, can never be double-counted, and a forgotten run leaves no stale
series. Local mode renders the same collector once into a file (``cqltest run --metrics``);
the operator registers it on its own registry and serves it. Each user gets a dedicated
:class:`~prometheus_client.CollectorRegistry`, never the process-global one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import get_args

from prometheus_client import CollectorRegistry, write_to_textfile
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from cqltest.model import RunPhase, SuitePhase, TestRunStatus

# Suites run from seconds (smoke) to hours (soak); buckets cover both ends.
DURATION_BUCKETS: tuple[float, ...] = (1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200)
_RESULTS = ("passed", "failed", "skipped", "errors")
_QUANTILES = (("0.5", "p50"), ("0.95", "p95"), ("0.99", "p99"), ("1", "max"))


class TestRunCollector(Collector):
    """Yields metric families for the latest status of every run it was told about."""

    __test__ = False

    def __init__(self, *, per_run: bool = True) -> None:
        self._runs: dict[str, TestRunStatus] = {}
        #: Local mode reports one run, so naming it costs nothing; an operator holding
        #: thousands of runs must not create series per run (unbounded cardinality), so it
        #: exports totals only.
        self.per_run = per_run

    def update(self, run: str, status: TestRunStatus) -> None:
        """Record the latest status of ``run`` (a name, or ``namespace/name`` in the operator)."""
        self._runs[run] = status

    def forget(self, run: str) -> None:
        self._runs.pop(run, None)

    def collect(self) -> Iterator[Metric]:
        runs = dict(self._runs)
        return iter(collect_families(runs) if self.per_run else total_families(runs))


def collect_families(runs: Mapping[str, TestRunStatus]) -> list[Metric]:
    """The metric families for ``runs`` (name → status), pure."""
    by_phase = GaugeMetricFamily("cqltest_testruns", "TestRuns by phase.", labels=["phase"])
    phases = [status.phase for status in runs.values()]
    for phase in get_args(RunPhase):
        by_phase.add_metric([phase], phases.count(phase))

    suites = GaugeMetricFamily("cqltest_suites", "Suites by phase.", labels=["run", "phase"])
    tests = GaugeMetricFamily("cqltest_tests", "Tests by result.", labels=["run", "result"])
    ops = CounterMetricFamily(
        "cqltest_suite_operations", "CQL operations a suite made.", labels=["run", "suite"]
    )
    rate = GaugeMetricFamily(
        "cqltest_suite_ops_per_second", "A suite's CQL throughput.", labels=["run", "suite"]
    )
    errors = GaugeMetricFamily(
        "cqltest_suite_error_rate", "Failed operations / operations.", labels=["run", "suite"]
    )
    latency = GaugeMetricFamily(
        "cqltest_suite_latency_milliseconds",
        "CQL request latency quantiles a suite measured (quantile 1 is the maximum).",
        labels=["run", "suite", "quantile"],
    )
    durations: list[float] = []
    for run, status in sorted(runs.items()):
        suite_phases = [s.phase for s in status.suites]
        for phase in get_args(SuitePhase):
            suites.add_metric([run, phase], suite_phases.count(phase))
        if status.summary is not None:
            for result in _RESULTS:
                tests.add_metric([run, result], getattr(status.summary.tests, result))
        for suite in status.suites:
            if suite.duration_seconds is not None and suite.finished_at is not None:
                durations.append(suite.duration_seconds)
            m = suite.metrics
            if m is None or m.operations is None:
                continue
            ops.add_metric([run, suite.name], m.operations)
            rate.add_metric([run, suite.name], m.ops_per_second or 0.0)
            errors.add_metric([run, suite.name], m.error_rate or 0.0)
            if m.latency_ms is not None:
                for quantile, field in _QUANTILES:
                    value = getattr(m.latency_ms, field)
                    if value is not None:
                        latency.add_metric([run, suite.name, quantile], value)
    return [by_phase, suites, tests, ops, rate, errors, latency, _histogram(durations)]


def total_families(runs: Mapping[str, TestRunStatus]) -> list[Metric]:
    """Totals over ``runs`` with no per-run or per-suite labels (what the operator serves)."""
    phases = [status.phase for status in runs.values()]
    by_phase = GaugeMetricFamily("cqltest_testruns", "TestRuns by phase.", labels=["phase"])
    for phase in get_args(RunPhase):
        by_phase.add_metric([phase], phases.count(phase))
    suites = GaugeMetricFamily("cqltest_suites", "Suites by phase.", labels=["phase"])
    suite_phases = [s.phase for status in runs.values() for s in status.suites]
    for phase in get_args(SuitePhase):
        suites.add_metric([phase], suite_phases.count(phase))
    tests = GaugeMetricFamily("cqltest_tests", "Tests by result.", labels=["result"])
    for result in _RESULTS:
        total = sum(
            getattr(status.summary.tests, result) for status in runs.values() if status.summary
        )
        tests.add_metric([result], total)
    durations = [
        suite.duration_seconds
        for status in runs.values()
        for suite in status.suites
        if suite.duration_seconds is not None and suite.finished_at is not None
    ]
    return [by_phase, suites, tests, _histogram(durations)]


def _histogram(durations: list[float]) -> HistogramMetricFamily:
    buckets = [
        (str(float(bound)), sum(1 for d in durations if d <= bound)) for bound in DURATION_BUCKETS
    ]
    buckets.append(("+Inf", len(durations)))
    return HistogramMetricFamily(
        "cqltest_suite_duration_seconds",
        "Duration of finished suites.",
        buckets=buckets,
        sum_value=sum(durations),
    )


def new_registry(collector: TestRunCollector) -> CollectorRegistry:
    """A dedicated registry serving ``collector``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


def write_metrics(path: str | Path, run: str, status: TestRunStatus) -> None:
    """Write the Prometheus text format for one run to ``path`` (atomically, via a rename)."""
    collector = TestRunCollector()
    collector.update(run, status)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), new_registry(collector))

"""Prometheus metrics derived from TestRun status documents."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cqltest.metrics import TestRunCollector, new_registry, write_metrics
from cqltest.model import (
    Latency,
    Metrics,
    SuiteCounts,
    SuiteStatus,
    Summary,
    TestCounts,
    TestRunStatus,
)
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _status(phase: str = "Failed") -> TestRunStatus:
    metrics = Metrics(
        operations=1200,
        ops_per_second=400.0,
        error_rate=0.01,
        latency_ms=Latency(p50=0.8, p95=2.1, p99=3.5, max=9.0),
    )
    return TestRunStatus(
        phase=phase,  # type: ignore[arg-type]
        waves=[["a"], ["b", "c"]],
        suites=[
            SuiteStatus(
                name="a", phase="Passed", wave=1, attempts=1, finished_at=NOW,
                duration_seconds=3.0, tests=TestCounts(total=5, passed=5), metrics=metrics,
            ),
            SuiteStatus(
                name="b", phase="Failed", wave=2, attempts=1, finished_at=NOW,
                duration_seconds=45.0, tests=TestCounts(total=2, passed=1, failed=1),
            ),
            SuiteStatus(name="c", phase="Skipped", wave=2, reason="dependency b failed"),
        ],
        summary=Summary(
            progress="1/3",
            suites=SuiteCounts(total=3, passed=1, failed=1, skipped=1),
            tests=TestCounts(total=7, passed=6, failed=1),
        ),
    )  # fmt: skip


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_written_file_parses_and_has_the_values(tmp_path: Path) -> None:
    path = tmp_path / "out" / "metrics.prom"
    write_metrics(path, "nightly", _status())
    samples = _samples(path.read_text())
    assert samples[("cqltest_testruns", frozenset({("phase", "Failed")}))] == 1
    assert samples[("cqltest_testruns", frozenset({("phase", "Succeeded")}))] == 0
    run = ("run", "nightly")
    assert samples[("cqltest_suites", frozenset({run, ("phase", "Skipped")}))] == 1
    assert samples[("cqltest_tests", frozenset({run, ("result", "failed")}))] == 1
    assert samples[("cqltest_tests", frozenset({run, ("result", "passed")}))] == 6
    suite = ("suite", "a")
    assert samples[("cqltest_suite_operations_total", frozenset({run, suite}))] == 1200
    assert samples[("cqltest_suite_ops_per_second", frozenset({run, suite}))] == 400.0
    assert samples[("cqltest_suite_error_rate", frozenset({run, suite}))] == 0.01
    p99 = frozenset({run, suite, ("quantile", "0.99")})
    assert samples[("cqltest_suite_latency_milliseconds", p99)] == 3.5
    assert samples[("cqltest_suite_duration_seconds_count", frozenset())] == 2
    assert samples[("cqltest_suite_duration_seconds_sum", frozenset())] == 48.0
    assert samples[("cqltest_suite_duration_seconds_bucket", frozenset({("le", "5.0")}))] == 1
    assert samples[("cqltest_suite_duration_seconds_bucket", frozenset({("le", "60.0")}))] == 2


def test_collector_tracks_latest_status_and_forgets() -> None:
    collector = TestRunCollector()
    registry = new_registry(collector)
    collector.update("r1", _status("Running"))
    collector.update("r1", _status("Succeeded"))
    collector.update("r2", _status("Succeeded"))
    samples = _samples(generate_latest(registry).decode())
    assert samples[("cqltest_testruns", frozenset({("phase", "Succeeded")}))] == 2
    assert samples[("cqltest_testruns", frozenset({("phase", "Running")}))] == 0
    collector.forget("r2")
    samples = _samples(generate_latest(registry).decode())
    assert samples[("cqltest_testruns", frozenset({("phase", "Succeeded")}))] == 1
    assert not any(dict(labels).get("run") == "r2" for _, labels in samples)


def test_global_registry_untouched(tmp_path: Path) -> None:
    before = generate_latest(REGISTRY)
    write_metrics(tmp_path / "m.prom", "x", _status())
    assert b"cqltest_" not in generate_latest(REGISTRY)
    assert b"cqltest_" not in before


def test_the_operator_exports_totals_without_run_labels() -> None:
    from cqltest.metrics import total_families

    first, second = _status(), _status()
    families = total_families({"ns/a": first, "ns/b": second})
    labels = {key for family in families for sample in family.samples for key in sample.labels}
    assert "run" not in labels
    assert "suite" not in labels
    tests = {s.labels["result"]: s.value for s in families[2].samples}
    assert tests["failed"] == 2 * first.summary.tests.failed  # type: ignore[union-attr]

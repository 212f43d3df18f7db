"""SuiteResult assembly, the ≤ 4 KiB pod summary, the stdout report markers, the histogram."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from aiocql.stats import RELATIVE_ERROR, LatencyHistogram
from cqlsuites import report
from cqlsuites.stats import OpStats
from hypothesis import given, settings
from hypothesis import strategies as st

T0 = datetime(2026, 11, 23, 9, 0, 0, tzinfo=UTC)


def _result(failures: list[dict[str, str]], kinds: dict[str, int] | None = None) -> dict[str, Any]:
    stats = OpStats()
    for kind, n in (kinds or {}).items():
        for _ in range(n):
            stats.record(end=1.0, latency_s=0.001, error_kind=kind)
    return report.suite_result(
        suite="smoke",
        attempt=1,
        outcome="failed" if failures else "passed",
        started_at=T0,
        finished_at=T0 + timedelta(seconds=3.25),
        tests=report.TestCounts(total=5, passed=5 - len(failures), failed=len(failures)),
        failures=failures,
        metrics=stats.to_json(),
        junit_xml="<testsuites/>" * 1000,
    )


def test_suite_result_matches_contract() -> None:
    doc = _result([{"test": "t.py::x", "message": "AssertionError: boom"}])
    assert set(doc) == {
        "suite", "attempt", "outcome", "startedAt", "finishedAt", "durationSeconds",
        "tests", "failures", "metrics", "junitXml",
    }  # fmt: skip
    assert doc["startedAt"] == "2026-11-23T09:00:00.000Z"
    assert doc["durationSeconds"] == 3.25
    assert doc["tests"] == {"total": 5, "passed": 4, "failed": 1, "skipped": 0, "errors": 0}
    assert set(doc["metrics"]) == {
        "operations", "opsPerSecond", "errorRate", "latencyMs", "errorsByKind",
    }  # fmt: skip


def test_summary_small_result_is_kept_whole_minus_junit() -> None:
    doc = _result([{"test": "t.py::x", "message": "boom"}])
    summary = json.loads(report.compact_summary(doc))
    assert "junitXml" not in summary
    assert summary == {k: v for k, v in doc.items() if k != "junitXml"}


def test_summary_truncates_failures_and_says_how_many() -> None:
    failures = [{"test": f"t.py::test_{i}", "message": "x" * 3000} for i in range(100)]
    text = report.compact_summary(_result(failures))
    assert len(text.encode()) <= report.TERMINATION_LIMIT
    summary = json.loads(text)
    assert summary["tests"]["failed"] == 100
    assert summary["outcome"] == "failed"
    last = summary["failures"][-1]
    assert "more failure(s) omitted" in last["message"]
    kept = len(summary["failures"]) - 1
    assert last["message"].startswith(f"{100 - kept} more")


@settings(max_examples=60, deadline=None)
@given(
    failures=st.lists(
        st.fixed_dictionaries({"test": st.text(max_size=400), "message": st.text(max_size=5000)}),
        max_size=60,
    ),
    kinds=st.dictionaries(st.text(min_size=1, max_size=300), st.integers(1, 3), max_size=40),
)
def test_summary_always_fits(failures: list[dict[str, str]], kinds: dict[str, int]) -> None:
    text = report.compact_summary(_result(failures, kinds))
    assert len(text.encode("utf-8")) <= report.TERMINATION_LIMIT
    summary = json.loads(text)
    assert summary["tests"]["total"] == 5
    assert summary["outcome"] in ("passed", "failed")


def test_report_block_round_trips_through_a_log() -> None:
    doc = _result([{"test": "a", "message": "b\nc"}])
    log = "noise\n" + report.full_report_block(doc) + "more noise\n"
    assert report.extract_report(log) == doc
    assert report.extract_report("no markers") is None
    cut = report.full_report_block(doc)[:-40]
    assert report.extract_report(cut) is None


def test_suite_latencies_come_from_the_session_histogram_within_its_error() -> None:
    stats = OpStats()
    for ms in range(1, 1001):
        stats.record(end=float(ms), latency_s=ms / 1000)
    assert type(stats.latency) is LatencyHistogram  # aiocql's, not a second implementation
    latency = stats.to_json()["latencyMs"]
    for key, true_ms in (("p50", 500), ("p95", 950), ("p99", 990)):
        assert true_ms <= latency[key] <= true_ms * (1 + RELATIVE_ERROR) + 0.001, (key, latency)
    assert latency["max"] == 1000.0
    assert OpStats().to_json()["latencyMs"] == {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}


def test_op_stats_throughput_and_errors() -> None:
    stats = OpStats()
    for i in range(100):
        stats.record(
            end=10.0 + i * 0.01, latency_s=0.01, error_kind="WriteTimeout" if i < 5 else None
        )
    doc = stats.to_json()
    assert doc["operations"] == 100
    assert doc["errorRate"] == 0.05
    assert doc["errorsByKind"] == {"WriteTimeout": 5}
    assert 99 <= doc["opsPerSecond"] <= 101  # 100 ops over a 1.0 s window
    assert 9.9 <= doc["latencyMs"]["p50"] <= 10.11

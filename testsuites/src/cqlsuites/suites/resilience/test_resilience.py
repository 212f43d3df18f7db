"""What a cluster under faults owes its clients: no acknowledged write lost, errors bounded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from cqlsuites.suites.resilience.workload import Report, Workload

# Levels at which a read sees every write acknowledged before it, whatever the replication.
STRONG = {"QUORUM", "LOCAL_QUORUM", "EACH_QUORUM", "ALL"}


def test_the_workload_ran_for_its_duration(report: Report, workload: Workload) -> None:
    assert report.elapsed >= workload.duration, report.summary()
    assert report.acknowledged, f"no write was acknowledged at all: {report.summary()}"


def test_no_acknowledged_write_is_lost(report: Report) -> None:
    assert not report.lost, (
        f"{len(report.lost)} of {len(report.acknowledged)} acknowledged writes did not read "
        f"back at {report.consistency} within recoveryWait (first keys {report.lost[:5]}): "
        f"{report.summary()}"
    )


def test_failed_requests_stay_within_max_error_rate(
    report: Report, suite_params: Mapping[str, Any]
) -> None:
    limit = suite_params["maxErrorRate"]
    failed = len(report.failures)
    rate = failed / report.requests if report.requests else 1.0
    assert rate <= limit, (
        f"{failed} of {report.requests} requests failed ({rate:.1%} > maxErrorRate "
        f"{limit:.1%}): {report.summary()}"
    )


def test_every_failure_has_a_kind(report: Report) -> None:
    counted = sum(report.errors_by_kind.values())
    assert counted == report.writes_failed + report.reads_failed, report.summary()


def test_reads_during_the_run_see_acknowledged_writes(report: Report) -> None:
    if report.consistency not in STRONG:
        pytest.skip(f"{report.consistency} reads may miss a write acknowledged at that level")
    assert not report.stale_reads, (
        f"{len(report.stale_reads)} reads missed an acknowledged write "
        f"(keys {report.stale_reads[:5]}): {report.summary()}"
    )

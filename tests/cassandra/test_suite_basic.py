"""The ``basic`` suite on one node: every test passes, and again on the same cluster."""

from __future__ import annotations

import pytest
from cqltest.local import ClusterInfo
from suitekit import failure_summary, run_suite

pytestmark = pytest.mark.cassandra

TESTS = 24


def test_basic_suite_passes(cluster_single: ClusterInfo) -> None:
    result = run_suite("basic", cluster_single)
    assert result["outcome"] == "passed", failure_summary(result)
    assert result["tests"]["passed"] == result["tests"]["total"] == TESTS, result["tests"]
    assert result["metrics"]["operations"] >= 1000, "the session-reuse test's requests not counted"

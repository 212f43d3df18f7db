"""The ``async-patterns`` suite passes on a healthy node."""

from __future__ import annotations

import pytest
from cqltest.local import ClusterInfo
from suitekit import failure_summary, run_suite

pytestmark = pytest.mark.cassandra

TESTS = 18


def test_async_patterns_suite_passes(cluster_single: ClusterInfo) -> None:
    result = run_suite("async-patterns", cluster_single)
    assert result["outcome"] == "passed", failure_summary(result)
    assert result["tests"]["passed"] == result["tests"]["total"] == TESTS, result["tests"]

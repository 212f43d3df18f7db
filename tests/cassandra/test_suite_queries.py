"""The ``queries`` suite passes on a healthy node (LWTs, TTL, tombstones, indexes, views...)."""

from __future__ import annotations

import pytest
from cqltest.local import ClusterInfo
from suitekit import failure_summary, run_suite

pytestmark = pytest.mark.cassandra

TESTS = 24


def test_queries_suite_passes(cluster_single: ClusterInfo) -> None:
    result = run_suite("queries", cluster_single)
    assert result["outcome"] == "passed", failure_summary(result)
    # The local backend enables materialized views, so the view test runs rather than skips.
    assert result["tests"]["passed"] == result["tests"]["total"] == TESTS, result["tests"]

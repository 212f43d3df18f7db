"""The ``batches`` suite passes on a healthy node (every batch check reads its data back)."""

from __future__ import annotations

import pytest
from cqltest.local import ClusterInfo
from suitekit import failure_summary, run_suite

pytestmark = pytest.mark.cassandra

TESTS = 21


def test_batches_suite_passes(cluster_single: ClusterInfo) -> None:
    result = run_suite("batches", cluster_single)
    assert result["outcome"] == "passed", failure_summary(result)
    assert result["tests"]["passed"] == result["tests"]["total"] == TESTS, result["tests"]

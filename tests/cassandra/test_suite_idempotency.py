"""The ``idempotency`` suite on one node: real Unavailable decisions and LWT contention."""

from __future__ import annotations

import pytest
from cqltest.local import ClusterInfo
from suitekit import failure_summary, run_suite

pytestmark = pytest.mark.cassandra

TESTS = 33


def test_idempotency_suite_passes(cluster_single: ClusterInfo) -> None:
    result = run_suite("idempotency", cluster_single)
    assert result["outcome"] == "passed", failure_summary(result)
    assert result["tests"]["passed"] == result["tests"]["total"] == TESTS, result["tests"]

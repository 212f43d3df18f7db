"""The ``basic`` suite on one node: every test passes, and again on the same cluster."""

from __future__ import annotations

import pytest
from cqltest.local import ClusterInfo
from suitekit import run_passing

pytestmark = pytest.mark.cassandra


def test_basic_suite_passes(cluster_single: ClusterInfo) -> None:
    result = run_passing("basic", cluster_single, tests=24)
    assert result["metrics"]["operations"] >= 1000, "the session-reuse test's requests not counted"

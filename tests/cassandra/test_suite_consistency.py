"""The ``consistency`` suite on the 3-node / 2-DC cluster, where every level can be met."""

from __future__ import annotations

import pytest
from cqltest.local import ClusterInfo, LocalCluster
from suitekit import failure_summary, run_suite

pytestmark = pytest.mark.cassandra

TESTS = 23


def test_consistency_suite_passes_on_two_datacenters(
    cluster_multi: tuple[LocalCluster, ClusterInfo],
) -> None:
    _, info = cluster_multi
    result = run_suite("consistency", info)
    assert result["outcome"] == "passed", failure_summary(result)
    # DC-aware routing is only testable with two datacenters, so nothing is skipped here.
    assert result["tests"]["passed"] == result["tests"]["total"] == TESTS, result["tests"]

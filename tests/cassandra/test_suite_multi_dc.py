"""The multi-dc suite on the shared 3-node / 2-DC cluster."""

from __future__ import annotations

import pytest
from cqltest.local import ClusterInfo, LocalCluster
from suitekit import failure_summary, run_passing, run_suite

pytestmark = pytest.mark.cassandra


def test_multi_dc_passes_on_two_datacenters(
    cluster_multi: tuple[LocalCluster, ClusterInfo],
) -> None:
    run_passing("multi-dc", cluster_multi[1], {"keys": 10, "routedQueries": 10}, tests=15)


def test_multi_dc_on_one_datacenter_fails_saying_why(cluster_single: ClusterInfo) -> None:
    result = run_suite("multi-dc", cluster_single)
    assert result["outcome"] == "failed"
    assert "multi-dc needs at least 2 datacenters; the cluster has 1" in failure_summary(result)

"""The ``prepared`` suite on the 3-node / 2-DC cluster, where token-aware routing is testable
(two nodes in the local DC, each owning part of an RF 1 keyspace)."""

from __future__ import annotations

import pytest
from cqltest.local import ClusterInfo, LocalCluster
from suitekit import failure_summary, run_suite

pytestmark = pytest.mark.cassandra

TESTS = 21


def test_prepared_suite_passes_with_routing_checked(
    cluster_multi: tuple[LocalCluster, ClusterInfo],
) -> None:
    _, info = cluster_multi
    result = run_suite("prepared", info)
    assert result["outcome"] == "passed", failure_summary(result)
    assert result["tests"]["passed"] == result["tests"]["total"] == TESTS, result["tests"]

"""The ``observability`` suite on the 3-node / 2-DC cluster, where a write's trace has events
from replicas other than the coordinator."""

from __future__ import annotations

import pytest
from cqltest.local import ClusterInfo, LocalCluster
from suitekit import failure_summary, run_suite

pytestmark = pytest.mark.cassandra

TESTS = 19


def test_observability_suite_passes_on_three_nodes(
    cluster_multi: tuple[LocalCluster, ClusterInfo],
) -> None:
    _, info = cluster_multi
    result = run_suite("observability", info)
    assert result["outcome"] == "passed", failure_summary(result)
    assert result["tests"]["passed"] == result["tests"]["total"] == TESTS, result["tests"]

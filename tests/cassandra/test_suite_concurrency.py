"""The ``concurrency`` suite on 3 nodes / 2 DCs, where TWO, THREE and EACH_QUORUM can all be
met, so no consistency level is skipped."""

from __future__ import annotations

import pytest
from cqltest.local import ClusterInfo, LocalCluster
from suitekit import failure_summary, run_suite

pytestmark = pytest.mark.cassandra

TESTS = 18


def test_concurrency_suite_passes_at_every_level(
    cluster_multi: tuple[LocalCluster, ClusterInfo],
) -> None:
    _, info = cluster_multi
    result = run_suite("concurrency", info, {"reads": 500, "writes": 300})
    assert result["outcome"] == "passed", failure_summary(result)
    assert result["tests"]["passed"] == result["tests"]["total"] == TESTS, result["tests"]

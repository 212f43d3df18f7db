"""The ``consistency`` suite on the 3-node / 2-DC cluster, where every level can be met."""

from __future__ import annotations

import pytest
from cqltest.local import ClusterInfo, LocalCluster
from suitekit import run_passing

pytestmark = pytest.mark.cassandra


def test_consistency_suite_passes_on_two_datacenters(
    cluster_multi: tuple[LocalCluster, ClusterInfo],
) -> None:
    # DC-aware routing is only testable with two datacenters, so nothing is skipped here.
    run_passing("consistency", cluster_multi[1], tests=23)

"""The ``prepared`` suite on the 3-node / 2-DC cluster, where token-aware routing is testable
(two nodes in the local DC, each owning part of an RF 1 keyspace)."""

from __future__ import annotations

import pytest
from cqltest.local import ClusterInfo, LocalCluster
from suitekit import run_passing

pytestmark = pytest.mark.cassandra


def test_prepared_suite_passes_with_routing_checked(
    cluster_multi: tuple[LocalCluster, ClusterInfo],
) -> None:
    run_passing("prepared", cluster_multi[1], tests=21)

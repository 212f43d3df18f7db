"""The ``observability`` suite on the 3-node / 2-DC cluster, where a write's trace has events
from replicas other than the coordinator."""

from __future__ import annotations

import pytest
from cqltest.local import ClusterInfo, LocalCluster
from suitekit import run_passing

pytestmark = pytest.mark.cassandra


def test_observability_suite_passes_on_three_nodes(
    cluster_multi: tuple[LocalCluster, ClusterInfo],
) -> None:
    run_passing("observability", cluster_multi[1], tests=19)

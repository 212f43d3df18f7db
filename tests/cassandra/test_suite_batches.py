"""The ``batches`` suite passes on a healthy node (every batch check reads its data back)."""

from __future__ import annotations

import pytest
from cqltest.local import ClusterInfo
from suitekit import run_passing

pytestmark = pytest.mark.cassandra


def test_batches_suite_passes(cluster_single: ClusterInfo) -> None:
    run_passing("batches", cluster_single, tests=21)

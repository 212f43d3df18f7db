"""The ``async-patterns`` suite passes on a healthy node."""

from __future__ import annotations

import pytest
from cqltest.local import ClusterInfo
from suitekit import run_passing

pytestmark = pytest.mark.cassandra


def test_async_patterns_suite_passes(cluster_single: ClusterInfo) -> None:
    run_passing("async-patterns", cluster_single, tests=18)

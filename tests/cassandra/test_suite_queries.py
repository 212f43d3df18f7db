"""The ``queries`` suite passes on a healthy node (LWTs, TTL, tombstones, indexes, views...)."""

from __future__ import annotations

import pytest
from cqltest.local import ClusterInfo
from suitekit import run_passing

pytestmark = pytest.mark.cassandra


def test_queries_suite_passes(cluster_single: ClusterInfo) -> None:
    # The local backend enables materialized views, so the view test runs rather than skips.
    run_passing("queries", cluster_single, tests=24)

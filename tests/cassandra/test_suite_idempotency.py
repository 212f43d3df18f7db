"""The ``idempotency`` suite on one node: real Unavailable decisions and LWT contention."""

from __future__ import annotations

import pytest
from cqltest.local import ClusterInfo
from suitekit import run_passing

pytestmark = pytest.mark.cassandra


def test_idempotency_suite_passes(cluster_single: ClusterInfo) -> None:
    run_passing("idempotency", cluster_single, tests=37)

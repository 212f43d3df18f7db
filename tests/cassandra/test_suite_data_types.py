"""The ``data-types`` suite: every type round-trips on one node; a wrong password fails it
with the server's authentication message (a failed suite, not a harness error)."""

from __future__ import annotations

import pytest
from cqltest.local import ClusterInfo
from suitekit import failure_summary, run_passing, run_suite

pytestmark = pytest.mark.cassandra


def test_data_types_suite_passes(cluster_single: ClusterInfo) -> None:
    run_passing("data-types", cluster_single, tests=148)


def test_data_types_with_a_wrong_password_fails_naming_authentication(
    cluster_secure: ClusterInfo,
) -> None:
    result = run_suite("data-types", cluster_secure, CQLTEST_PASSWORD="not-the-password")
    summary = failure_summary(result)
    assert result["outcome"] == "failed", summary
    assert result["tests"]["passed"] == 0, result["tests"]
    assert "Provided username" in summary or "authentication" in summary.lower(), summary

"""The ``data-types`` suite: every type round-trips on one node; a wrong password fails it
with the server's authentication message (a failed suite, not a harness error)."""

from __future__ import annotations

import pytest
from cqltest.local import ClusterInfo
from suitekit import failure_summary, run_suite

pytestmark = pytest.mark.cassandra

TESTS = 148


def test_data_types_suite_passes(cluster_single: ClusterInfo) -> None:
    result = run_suite("data-types", cluster_single)
    assert result["outcome"] == "passed", failure_summary(result)
    assert result["tests"]["passed"] == result["tests"]["total"] == TESTS, result["tests"]


def test_data_types_with_a_wrong_password_fails_naming_authentication(
    cluster_secure: ClusterInfo,
) -> None:
    result = run_suite("data-types", cluster_secure, CQLTEST_PASSWORD="not-the-password")
    summary = failure_summary(result)
    assert result["outcome"] == "failed", summary
    assert result["tests"]["passed"] == 0, result["tests"]
    assert "Provided username" in summary or "authentication" in summary.lower(), summary

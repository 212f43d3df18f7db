"""The security suite on the session node with authentication and client TLS, and on one
without authentication, where it must fail saying so rather than pass vacuously."""

from __future__ import annotations

import pytest
from cqltest.local import ClusterInfo
from suitekit import failure_summary, run_suite

pytestmark = pytest.mark.cassandra


def test_security_passes_with_auth_and_tls(cluster_secure: ClusterInfo) -> None:
    result = run_suite("security", cluster_secure)
    assert result["outcome"] == "passed", failure_summary(result)
    tests = result["tests"]
    # Only the audit test skips: Cassandra cannot turn audit logging on from a CQL client.
    assert (tests["total"], tests["passed"], tests["skipped"]) == (18, 17, 1), tests


def test_security_without_authentication_fails_clearly(cluster_single: ClusterInfo) -> None:
    result = run_suite("security", cluster_single)
    assert result["outcome"] == "failed"
    assert result["tests"]["passed"] == 0, result["tests"]
    assert "security needs a cluster with authentication" in failure_summary(result)

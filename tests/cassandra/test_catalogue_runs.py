"""The catalogue's infrastructure on real clusters: params reach a suite, failures say why.

A wrong password is the user's cluster refusing the suite, not the harness breaking: the suite
must end ``failed`` with the authentication message, exit 1, never ``error``.
"""

from __future__ import annotations

import pytest
from cqltest.local import ClusterInfo
from suitekit import failure_summary, run_suite

pytestmark = pytest.mark.cassandra


def test_smoke_passes_through_suitekit(cluster_single: ClusterInfo) -> None:
    result = run_suite("smoke", cluster_single)
    assert result["outcome"] == "passed", failure_summary(result)
    assert result["tests"]["passed"] == result["tests"]["total"] >= 8


def test_unknown_param_is_an_error_naming_it(cluster_single: ClusterInfo) -> None:
    result = run_suite("smoke", cluster_single, {"rows": 5})
    assert result["outcome"] == "error"
    assert 'suite "smoke" has no param "rows"' in failure_summary(result)


def test_wrong_password_fails_with_the_authentication_message(
    cluster_secure: ClusterInfo,
) -> None:
    result = run_suite("data-types", cluster_secure, CQLTEST_PASSWORD="not-the-password")
    assert result["outcome"] == "failed", failure_summary(result)
    assert result["tests"]["passed"] == 0
    summary = failure_summary(result)
    assert "AuthenticationFailed" in summary, summary
    assert "Provided username cqltest and/or password are incorrect" in summary, summary

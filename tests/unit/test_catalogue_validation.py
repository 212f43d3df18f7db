"""A TestRun's built-in suites checked against their suite.yaml: params, needs, default timeout."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from cqlsuites.catalogue import parse_suite
from cqltest.errors import ManifestError
from cqltest.model import parse_testrun
from cqltest.model.catalogue import Catalogue
from cqltest.model.validation import validate_testrun

LOAD = parse_suite(
    {
        "name": "load",
        "description": "Sustained load.",
        "needs": {"nodes": 1},
        "timeout": "7m",
        "params": {
            "duration": {"type": "duration", "default": "10s", "description": "How long."},
            "rate": {"type": "integer", "default": 0, "description": "Ops/s."},
        },
    },
    "load/suite.yaml",
)
MULTI = parse_suite(
    {
        "name": "multi-dc",
        "description": "Two DCs.",
        "needs": {"nodes": 2, "datacenters": 2},
        "timeout": "5m",
    },
    "multi_dc/suite.yaml",
)
SECURE = parse_suite(
    {
        "name": "security",
        "description": "Auth.",
        "needs": {"authentication": True, "tls": True},
    },
    "security/suite.yaml",
)
CATALOGUE = Catalogue(
    suites={"load": LOAD, "multi-dc": MULTI, "security": SECURE},
    broken={"queries": "queries/suite.yaml: name must be a non-empty string"},
)


def manifest(*suites: dict[str, Any], cluster: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "cqltest.dev/v1alpha1",
        "kind": "TestRun",
        "metadata": {"name": "run"},
        "spec": {
            "cluster": cluster or {"datacenters": [{"name": "dc1", "size": 1}]},
            "suites": list(suites),
        },
    }


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        validate_testrun(data, CATALOGUE.names(), CATALOGUE)
    return [str(p) for p in caught.value.problems]


def test_unknown_param_names_suite_param_and_the_accepted_ones() -> None:
    found = problems(manifest({"name": "load", "params": {"rat": 5}}))
    assert found == [
        'spec.suites[0].params.rat: suite "load" has no param "rat" '
        "(accepted params: duration, rate)"
    ]


def test_wrong_param_types_are_each_named() -> None:
    found = problems(
        manifest({"name": "l", "suite": "load", "params": {"rate": "fast", "duration": "soon"}})
    )
    assert len(found) == 2
    assert found[0].startswith("spec.suites[0].params.rate: ")
    assert "is not an integer (got str)" in found[0]
    assert "is not a duration" in found[1]


def test_unmet_topology_is_rejected_with_what_the_cluster_has() -> None:
    found = problems(manifest({"name": "multi-dc"}))
    assert found == [
        'spec.suites[0].name: suite "multi-dc" needs at least 2 nodes, the cluster has 1',
        'spec.suites[0].name: suite "multi-dc" needs at least 2 datacenters, the cluster has 1',
    ]


def test_unmet_security_is_rejected_saying_what_to_set() -> None:
    found = problems(manifest({"name": "security"}))
    assert "needs authentication: set cluster.security.authentication: true" in found[0]
    assert "needs client TLS: set cluster.security.tls.client: true" in found[1]


def test_needs_met_pass() -> None:
    cluster = {
        "datacenters": [{"name": "dc1", "size": 1}, {"name": "dc2", "size": 1}],
        "security": {"authentication": True, "tls": {"client": True}},
    }
    run = validate_testrun(
        manifest({"name": "multi-dc"}, {"name": "security"}, cluster=cluster),
        CATALOGUE.names(),
        CATALOGUE,
    )
    assert [s.name for s in run.spec.suites] == ["multi-dc", "security"]


def test_existing_cluster_of_unknown_shape_skips_the_topology_check() -> None:
    existing = {"contactPoints": ["10.0.0.1"], "localDatacenter": "dc1"}
    run = validate_testrun(
        manifest({"name": "multi-dc"}, cluster={"existing": existing}),
        CATALOGUE.names(),
        CATALOGUE,
    )
    assert run.spec.suites[0].name == "multi-dc"
    # ... but without credentials it surely cannot run a suite that needs authentication.
    found = problems(manifest({"name": "security"}, cluster={"existing": existing}))
    assert any("needs authentication" in p for p in found)
    with_auth = {**existing, "username": "u", "password": "p", "caPath": "/ca.pem"}
    validate_testrun(
        manifest({"name": "security"}, cluster={"existing": with_auth}),
        CATALOGUE.names(),
        CATALOGUE,
    )


def test_default_timeout_comes_from_suite_yaml_unless_given() -> None:
    run = validate_testrun(
        manifest({"name": "load"}, {"name": "load2", "suite": "load", "timeout": "1m"}),
        CATALOGUE.names(),
        CATALOGUE,
    )
    assert [s.timeout for s in run.spec.suites] == [timedelta(minutes=7), timedelta(minutes=1)]


def test_own_tests_are_not_checked_against_the_catalogue() -> None:
    entry = {"name": "load", "command": ["pytest"], "params": {"anything": 1}}
    run = validate_testrun(manifest(entry), CATALOGUE.names(), CATALOGUE)
    assert run.spec.suites[0].timeout == timedelta(minutes=30)


def test_a_broken_suite_yaml_is_named_only_where_used() -> None:
    validate_testrun(manifest({"name": "load"}), CATALOGUE.names(), CATALOGUE)
    found = problems(manifest({"name": "queries"}))
    assert found == [
        'spec.suites[0]: built-in suite "queries" cannot be used: '
        "queries/suite.yaml: name must be a non-empty string"
    ]


def test_installed_catalogue_is_used_by_default() -> None:
    found: list[str] = []
    try:
        parse_testrun(manifest({"name": "smoke", "params": {"rows": 1}}))
    except ManifestError as exc:
        found = [str(p) for p in exc.problems]
    assert found == [
        'spec.suites[0].params.rows: suite "smoke" has no param "rows" (accepted params: none)'
    ]
    run = parse_testrun(manifest({"name": "smoke"}))
    assert run.spec.suites[0].timeout == timedelta(minutes=5)

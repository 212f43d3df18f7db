"""Manifest validation: every problem reported at once, each naming path, value and rule."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from cqltest.errors import InputError, ManifestError, Problem
from cqltest.model import builtin_suites, load_testrun, parse_testrun, suite_directory

KNOWN = {"smoke", "stress"}


def manifest(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "apiVersion": "cqltest.dev/v1alpha1",
        "kind": "TestRun",
        "metadata": {"name": "run"},
        "spec": {
            "cluster": {"datacenters": [{"name": "dc1", "size": 3}]},
            "suites": [{"name": "smoke"}],
        },
    }
    base["spec"].update(copy.deepcopy(spec))
    return base


def problems(data: Any, known: set[str] | None = KNOWN) -> list[Problem]:
    with pytest.raises(ManifestError) as info:
        parse_testrun(data, known_suites=known)
    return list(info.value.problems)


def by_path(data: Any) -> dict[str, str]:
    return {p.path: p.message for p in problems(data)}


def test_a_valid_manifest_parses() -> None:
    run = parse_testrun(manifest(), known_suites=KNOWN)
    assert run.spec.suites[0].name == "smoke"


def test_manifest_error_is_input_error_with_exit_code_2() -> None:
    error = ManifestError([Problem("spec", None, "bad")])
    assert isinstance(error, InputError)
    assert error.exit_code == 2
    assert str(error) == "invalid TestRun: 1 problem\n  spec: bad"


@pytest.mark.parametrize(
    ("spec", "path", "message"),
    [
        (
            {"suites": [{"name": "a", "suite": "smoke", "dependsOn": ["a"]}]},
            "spec.suites[0].dependsOn[0]",
            "a suite cannot depend on itself: a -> a",
        ),
        (
            {
                "suites": [
                    {"name": "a", "suite": "smoke", "dependsOn": ["b"]},
                    {"name": "b", "suite": "smoke", "dependsOn": ["a"]},
                ]
            },
            "spec.suites[0].dependsOn[0]",
            "dependency cycle: a -> b -> a",
        ),
        (
            {"suites": [{"name": "smoke", "dependsOn": ["nope"]}]},
            "spec.suites[0].dependsOn[0]",
            'suite "smoke" depends on "nope", which is not a suite of this TestRun '
            '(suites: "smoke")',
        ),
        (
            {"suites": [{"name": "smoke"}, {"name": "smoke"}]},
            "spec.suites[1].name",
            'duplicate suite name "smoke" (also spec.suites[0].name); suite names must be unique',
        ),
        ({"suites": []}, "spec.suites", "at least one suite is required"),
        (
            {"cluster": {"datacenters": [{"name": "dc1", "size": 0}]}},
            "spec.cluster.datacenters[0].size",
            "0 is out of range: must be >= 1",
        ),
        (
            {"cluster": {"datacenters": [{"name": "dc1", "size": 2, "replicationFactor": 3}]}},
            "spec.cluster.datacenters[0].replicationFactor",
            'replicationFactor 3 exceeds the size 2 of datacenter "dc1"; it must be between 1 '
            "and 2",
        ),
        (
            {"suites": [{"name": "smoke", "retry": 1}]},
            "spec.suites[0].retry",
            'unknown field "retry"; allowed fields: command, dependsOn, image, markers, name, '
            "params, path, retries, suite, thresholds, timeout",
        ),
        (
            {"timeout": "10 minutes"},
            "spec.timeout",
            "'10 minutes' is not a duration such as 90s, 15m, 2h or 1h30m (hours, minutes, "
            "seconds, in that order)",
        ),
        (
            {"suites": [{"name": "smoke", "timeout": "0s"}]},
            "spec.suites[0].timeout",
            "'0s' must be longer than 0s",
        ),
        (
            {"cluster": {"datacenters": [{"name": "dc1", "size": 1}], "readyTimeout": "0s"}},
            "spec.cluster.readyTimeout",
            "'0s' must be longer than 0s",
        ),
        ({"timeout": "0s"}, "spec.timeout", "'0s' must be longer than 0s"),
        (
            {"suites": [{"name": "nope"}]},
            "spec.suites[0].name",
            'unknown built-in suite "nope" (built-in suites: smoke, stress); set suite to one of '
            "them, or give path or command to run your own tests",
        ),
        (
            {"suites": [{"name": "x", "suite": "nope"}]},
            "spec.suites[0].suite",
            'unknown built-in suite "nope" (built-in suites: smoke, stress); set suite to one of '
            "them, or give path or command to run your own tests",
        ),
        (
            {"suites": [{"name": "x", "path": "p", "suite": "smoke"}]},
            "spec.suites[0].path",
            "path cannot be combined with suite",
        ),
        (
            {"suites": [{"name": "x", "suite": "smoke", "command": ["true"]}]},
            "spec.suites[0].command",
            "give suite (a built-in suite) or command (your own), not both",
        ),
        (
            {
                "suites": [
                    {"name": "smoke", "dependsOn": []},
                    {"name": "b", "suite": "smoke", "dependsOn": ["smoke", "smoke"]},
                ]
            },
            "spec.suites[1].dependsOn[1]",
            '"smoke" is listed twice in dependsOn',
        ),
        (
            {"parallelism": 0},
            "spec.parallelism",
            "0 is out of range: must be >= 1",
        ),
        (
            {"cluster": {"datacenters": [{"name": "dc1", "size": 1}], "teardown": "Sometimes"}},
            "spec.cluster.teardown",
            "'Sometimes' is not one of 'Always', 'OnSuccess' or 'Never'",
        ),
        (
            {"cluster": {"datacenters": [{"name": "dc1", "size": "three"}]}},
            "spec.cluster.datacenters[0].size",
            "input should be a valid integer, unable to parse string as an integer (got 'three')",
        ),
        (
            {"cluster": {"datacenters": [{"name": "dc1", "size": 1}, {"name": "dc1", "size": 1}]}},
            "spec.cluster.datacenters[1].name",
            'duplicate datacenter name "dc1" (also spec.cluster.datacenters[0].name)',
        ),
        (
            {"cluster": {"datacenters": [{"name": "dc1", "size": 1, "racks": ["r1", "r2"]}]}},
            "spec.cluster.datacenters[0].racks",
            "2 racks for 1 nodes; a datacenter cannot have more racks than nodes",
        ),
        (
            {"cluster": {}},
            "spec.cluster.datacenters",
            "give at least one datacenter to provision a cluster, or existing to attach to one",
        ),
        (
            {
                "cluster": {
                    "datacenters": [{"name": "dc1", "size": 1}],
                    "security": {"tls": {"clients": True}},
                }
            },
            "spec.cluster.security.tls.clients",
            'unknown field "clients"; allowed fields: client, internode',
        ),
        (
            {"suites": [{"name": "smoke", "thresholds": {"p99": 5}}]},
            "spec.suites[0].thresholds.p99",
            'unknown field "p99"; allowed fields: errorRate, maxErrorWindowSeconds, '
            "maxLatencyMs, maxLostWrites, minOpsPerSecond, p50LatencyMs, p95LatencyMs, "
            "p99LatencyMs",
        ),
        (
            {"suites": [{"name": "smoke", "thresholds": {"errorRate": 2}}]},
            "spec.suites[0].thresholds.errorRate",
            "2 is out of range: must be <= 1",
        ),
        (
            {"suites": [{"name": "Smoke"}]},
            "spec.suites[0].name",
            "'Smoke' is not a DNS-1123 label: lower-case letters, digits and '-', starting and "
            "ending with a letter or digit, at most 63 characters",
        ),
    ],
)
def test_each_problem_names_path_and_rule(spec: dict[str, Any], path: str, message: str) -> None:
    got = by_path(manifest(**spec))
    assert path in got, got
    assert got[path] == message


def test_every_problem_is_reported_at_once() -> None:
    data = manifest(
        cluster={
            "datacenters": [
                {"name": "dc1", "size": 0},
                {"name": "dc2", "size": 1, "replicationFactor": 2},
            ]
        },
        timeout="soon",
        bogus=True,
        suites=[
            {"name": "a", "suite": "smoke", "dependsOn": ["c"]},
            {"name": "b", "suite": "smoke", "dependsOn": ["a", "zz"]},
            {"name": "c", "suite": "smoke", "dependsOn": ["b"]},
            {"name": "a", "suite": "smoke"},
        ],
    )
    paths = [p.path for p in problems(data)]
    assert paths == [
        "spec.cluster.datacenters[0].size",
        "spec.timeout",
        "spec.bogus",
        "spec.cluster.datacenters[1].replicationFactor",
        "spec.suites[3].name",
        "spec.suites[1].dependsOn[1]",
        "spec.suites[0].dependsOn[0]",
    ]
    cycle = problems(data)[-1]
    assert cycle.message == "dependency cycle: a -> c -> b -> a"


def test_problems_carry_the_offending_value() -> None:
    found = problems(manifest(parallelism=-3))
    assert [(p.path, p.value) for p in found] == [("spec.parallelism", -3)]


def test_document_level_problems() -> None:
    got = by_path({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "UPPER"}})
    assert got["apiVersion"] == "'v1' is not one of 'cqltest.dev/v1alpha1'"
    assert got["kind"] == "'Pod' is not one of 'TestRun'"
    assert got["spec"] == "required field is missing"
    assert got["metadata.name"].startswith("'UPPER' does not match the pattern")


def test_a_non_mapping_document_is_reported() -> None:
    assert [p.path for p in problems(["not", "a", "mapping"])] == ["(document)"]


def test_existing_cluster_rules() -> None:
    existing = {"contactPoints": ["10.0.0.1"], "localDatacenter": "dc1"}
    ok = manifest(cluster={"existing": existing})
    assert parse_testrun(ok, known_suites=KNOWN).spec.cluster.existing is not None
    with_topology = manifest(
        cluster={"existing": existing, "datacenters": [{"name": "dc1", "size": 3}]}
    )
    assert parse_testrun(with_topology, known_suites=KNOWN).spec.cluster.datacenters
    got = by_path(
        manifest(
            cluster={
                "existing": {**existing, "password": "p", "passwordFrom": {"env": "PW"}},
                "serverVersion": "5.0.6",
                "security": {"authentication": True},
            }
        )
    )
    assert got == {
        "spec.cluster.serverVersion": "serverVersion only applies to a provisioned cluster; "
        "remove it or remove existing",
        "spec.cluster.security": "security only applies to a provisioned cluster; remove it or "
        "remove existing",
        "spec.cluster.existing.passwordFrom": "give at most one of password and passwordFrom",
        "spec.cluster.existing.username": "a password needs a username",
    }
    got = by_path(manifest(cluster={"existing": {**existing, "username": "u", "passwordFrom": {}}}))
    assert got == {"spec.cluster.existing.passwordFrom": "give exactly one of secretKeyRef and env"}


def test_image_suites_skip_the_builtin_catalogue_check() -> None:
    data = manifest(suites=[{"name": "custom", "image": "registry/tests:1"}])
    assert parse_testrun(data, known_suites=KNOWN).spec.suites[0].image == "registry/tests:1"


def test_no_catalogue_skips_the_builtin_check() -> None:
    data = manifest(suites=[{"name": "anything"}])
    from cqltest.model import validate_testrun

    assert validate_testrun(data, None).spec.suites[0].name == "anything"


def test_the_installed_catalogue_has_smoke() -> None:
    assert "smoke" in builtin_suites()
    assert "__pycache__" not in builtin_suites()


def test_parse_testrun_defaults_to_the_installed_catalogue() -> None:
    assert parse_testrun(manifest()).spec.suites[0].name == "smoke"
    with pytest.raises(ManifestError, match="unknown built-in suite"):
        parse_testrun(manifest(suites=[{"name": "nope"}]))


# --- files -----------------------------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "run.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_load_testrun_reads_yaml(tmp_path: Path) -> None:
    import yaml

    path = write(tmp_path, yaml.safe_dump(manifest()))
    assert load_testrun(path, known_suites=KNOWN).name == "run"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot read the file: No such file or directory"):
        load_testrun(tmp_path / "nope.yaml")


def test_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="not valid YAML at line 1, column 16: expected ','"):
        load_testrun(write(tmp_path, "spec: [unclosed"))


def test_duplicate_keys_are_rejected_with_their_line(tmp_path: Path) -> None:
    text = "spec:\n  timeout: 5m\n  timeout: 6m\n"
    with pytest.raises(ManifestError, match="at line 3, column 3: duplicate key 'timeout'"):
        load_testrun(write(tmp_path, text))


@pytest.mark.parametrize(("text", "count"), [("", 0), ("a: 1\n---\nb: 2\n", 2)])
def test_exactly_one_document(tmp_path: Path, text: str, count: int) -> None:
    with pytest.raises(ManifestError, match=f"expected exactly one YAML document, found {count}"):
        load_testrun(write(tmp_path, text))


def test_path_suites_resolve_next_to_the_manifest(tmp_path: Path) -> None:
    import yaml

    data = manifest(suites=[{"name": "mine", "path": "tests/mine"}])
    path = write(tmp_path, yaml.safe_dump(data))
    with pytest.raises(ManifestError) as info:
        load_testrun(path, known_suites=KNOWN)
    (problem,) = info.value.problems
    assert problem.path == "spec.suites[0].path"
    assert "directory 'tests/mine' not found next to" in problem.message
    (tmp_path / "tests" / "mine").mkdir(parents=True)
    assert load_testrun(path, known_suites=KNOWN).spec.suites[0].path == "tests/mine"
    assert suite_directory(path, "tests/mine") == (tmp_path / "tests" / "mine").resolve()


def test_missing_directories_are_reported_with_schema_problems(tmp_path: Path) -> None:
    import yaml

    data = manifest(parallelism=0, suites=[{"name": "mine", "path": "nowhere"}])
    with pytest.raises(ManifestError) as info:
        load_testrun(write(tmp_path, yaml.safe_dump(data)), known_suites=KNOWN)
    assert [p.path for p in info.value.problems] == ["spec.parallelism", "spec.suites[0].path"]

"""``cqltest validate``, ``plan`` and ``crd`` through click, on the shipped examples."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner
from cqltest.cli.app import main
from cqltest.cli.errors import CqltestGroup, render_error
from cqltest.errors import CqltestError, ManifestError, Problem, SetupError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "manifests" / "examples"
CRD = ROOT / "manifests" / "crds" / "testruns.cqltest.dev.yaml"

# Each invalid example, the field its message must name, and a phrase of the rule.
INVALID = {
    "cycle.yaml": ("spec.suites[0].dependsOn[0]", "dependency cycle: a -> c -> b -> a"),
    "unknown-dependency.yaml": ("spec.suites[1].dependsOn[0]", 'depends on "schema"'),
    "duplicate-suite.yaml": ("spec.suites[1].name", 'duplicate suite name "smoke"'),
    "datacenter-size-zero.yaml": ("spec.cluster.datacenters[0].size", "must be >= 1"),
    "replication-factor-too-high.yaml": (
        "spec.cluster.datacenters[0].replicationFactor",
        "replicationFactor 3 exceeds the size 2",
    ),
    "unknown-field.yaml": ("spec.suites[0].retry", 'unknown field "retry"'),
    "malformed-duration.yaml": ("spec.timeout", "'10 minutes' is not a duration"),
}


def invoke(*args: str) -> click.testing.Result:
    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize("name", ["smoke.yaml", "multi-dc.yaml", "dag.yaml"])
def test_examples_validate(name: str) -> None:
    outcome = invoke("validate", str(EXAMPLES / name))
    assert outcome.exit_code == 0, outcome.output
    assert outcome.stdout.startswith("OK: TestRun ")


def test_every_invalid_example_is_covered() -> None:
    assert sorted(p.name for p in (EXAMPLES / "invalid").glob("*.yaml")) == sorted(INVALID)


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_examples_exit_2_naming_the_field(name: str) -> None:
    path, phrase = INVALID[name]
    outcome = invoke("validate", str(EXAMPLES / "invalid" / name))
    assert outcome.exit_code == 2
    assert outcome.stdout == ""
    lines = outcome.stderr.splitlines()
    assert any(line.startswith(f"{path}: ") and phrase in line for line in lines), lines
    assert lines[-1].startswith("error: invalid TestRun (")


def test_validate_prints_every_problem(tmp_path: Path) -> None:
    manifest = yaml.safe_load((EXAMPLES / "dag.yaml").read_text())
    manifest["spec"]["parallelism"] = 0
    manifest["spec"]["suites"][1]["dependsOn"] = ["ghost"]
    manifest["spec"]["suites"][2]["bogus"] = 1
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(manifest))
    outcome = invoke("validate", str(path))
    assert outcome.exit_code == 2
    assert outcome.stderr.splitlines() == [
        "spec.parallelism: 0 is out of range: must be >= 1",
        'spec.suites[2].bogus: unknown field "bogus"; allowed fields: command, dependsOn, image, '
        "markers, name, params, path, retries, suite, thresholds, timeout",
        'spec.suites[1].dependsOn[0]: suite "reads" depends on "ghost", which is not a suite of '
        'this TestRun (suites: "schema", "reads", "writes", "summary", "broken", '
        '"after-broken")',
        "error: invalid TestRun (3 problems)",
    ]


def test_validate_a_missing_file() -> None:
    outcome = invoke("validate", "/nonexistent/run.yaml")
    assert outcome.exit_code == 2
    assert "cannot read the file" in outcome.stderr


def test_plan_table() -> None:
    outcome = invoke("plan", str(EXAMPLES / "dag.yaml"))
    assert outcome.exit_code == 0, outcome.output
    lines = outcome.stdout.splitlines()
    assert lines[0] == "TestRun dag: 6 suites in 3 waves, parallelism 2"
    assert lines[2].split() == ["WAVE", "SUITE", "RUNS", "DEPENDS", "ON"]
    rows = [line.split()[:2] for line in lines[3:]]
    assert rows == [
        ["1", "schema"],
        ["1", "broken"],
        ["2", "reads"],
        ["2", "writes"],
        ["2", "after-broken"],
        ["3", "summary"],
    ]
    assert "suite smoke" in outcome.stdout


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_plan_as_data(fmt: str) -> None:
    outcome = invoke("plan", "--output", fmt, str(EXAMPLES / "dag.yaml"))
    assert outcome.exit_code == 0, outcome.output
    document = json.loads(outcome.stdout) if fmt == "json" else yaml.safe_load(outcome.stdout)
    assert document["waves"] == [
        ["schema", "broken"],
        ["reads", "writes", "after-broken"],
        ["summary"],
    ]
    summary = next(s for s in document["suites"] if s["name"] == "summary")
    assert summary == {
        "name": "summary",
        "wave": 3,
        "dependsOn": ["reads", "writes"],
        "runs": "suite smoke",
    }


def test_plan_of_an_invalid_manifest_exits_2() -> None:
    outcome = invoke("plan", str(EXAMPLES / "invalid" / "cycle.yaml"))
    assert outcome.exit_code == 2
    assert "dependency cycle" in outcome.stderr


def test_crd_prints_the_checked_in_crd() -> None:
    outcome = invoke("crd")
    assert outcome.exit_code == 0
    assert outcome.stdout == CRD.read_text()


def test_render_error() -> None:
    assert render_error(SetupError("java missing")) == "error: java missing"
    error = ManifestError([Problem("a", 1, "x"), Problem("b", 2, "y")])
    assert render_error(error) == "a: x\nb: y\nerror: invalid TestRun (2 problems)"


def test_the_group_maps_errors_to_exit_codes() -> None:
    @click.group(cls=CqltestGroup)
    def root() -> None:
        pass

    class Boom(CqltestError):
        exit_code = 7

    @root.command()
    def fail() -> None:
        raise Boom("it broke")

    outcome = CliRunner().invoke(root, ["fail"])
    assert outcome.exit_code == 7
    assert outcome.stderr == "error: it broke\n"


def test_run_without_a_jdk_is_a_setup_error_before_anything_starts(tmp_path: Path) -> None:
    home = tmp_path / "home"
    outcome = CliRunner(env={"JAVA_HOME": str(tmp_path / "no-jdk"), "CQLTEST_HOME": str(home)})
    result = outcome.invoke(main, ["run", str(EXAMPLES / "smoke.yaml"), "--output", "json"])
    assert result.exit_code == 2, result.output
    assert "JAVA_HOME" in result.stderr
    assert "no bin/java" in result.stderr
    assert result.stdout == ""
    assert not home.exists()  # no cluster, no run directory

"""`cqltest submit`, `status` and `logs` against the real apiserver, with no operator running.

The tests play the operator's part by hand: they patch a TestRun's `/status` and create its
report ConfigMap, Jobs and pods, so what is checked is the CLI's side of the contract (server-side
apply, admission refusals, the watch, the verdict, JUnit from the ConfigMap, pod lookup by
labels). The operator end to end is tested elsewhere.
"""

from __future__ import annotations

import datetime
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from controlplane import ControlPlane
from cqltest.cli.app import main
from cqltest.model import (
    GROUP,
    PLURAL,
    VERSION,
    AttemptStatus,
    Condition,
    SuiteCounts,
    SuiteStatus,
    Summary,
    TestCounts,
    TestRunStatus,
)
from kubernetes import client

pytestmark = [pytest.mark.kube, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "manifests" / "examples"
CRD_DIR = ROOT / "manifests" / "crds"
JUNIT = '<?xml version="1.0" encoding="utf-8"?>\n<testsuites name="smoke" tests="3"/>\n'


@pytest.fixture(scope="module")
def crd(control_plane: ControlPlane) -> None:
    control_plane.kubectl("apply", "--server-side", "-f", str(CRD_DIR))
    control_plane.kubectl(
        "wait", "--for=condition=Established", f"crd/{PLURAL}.{GROUP}", "--timeout=30s"
    )


@pytest.fixture
def cli(control_plane: ControlPlane, crd: None, namespace: str) -> Callable[..., Result]:
    """`cqltest ARGS -n <the test's namespace> --kubeconfig <the control plane's>`."""

    def invoke(*args: str) -> Result:
        argv = [*args, "-n", namespace, "--kubeconfig", str(control_plane.kubeconfig)]
        return CliRunner().invoke(main, argv)

    return invoke


@pytest.fixture
def custom(kube_api: Any) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(kube_api)


def _testruns(custom: client.CustomObjectsApi, namespace: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = custom.list_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL
    )["items"]
    return items


def _manifest(tmp_path: Path, mutate: Callable[[dict[str, Any]], None] | None = None) -> Path:
    doc = yaml.safe_load((EXAMPLES / "smoke.yaml").read_text())
    if mutate is not None:
        mutate(doc)
    path = tmp_path / "testrun.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _status(phase: str) -> dict[str, Any]:
    """A status as the operator writes it: phase, conditions, the smoke suite, summary."""
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    done = phase in ("Succeeded", "Failed")
    passed = phase == "Succeeded"
    suite = SuiteStatus(
        name="smoke",
        phase=("Passed" if passed else "Failed") if done else "Running",
        wave=1,
        attempts=1,
        tests=TestCounts(total=3, passed=3 if passed else 2, failed=0 if passed else 1),
        history=[AttemptStatus(attempt=1, state="Succeeded" if passed else "Failed")]
        if done
        else [AttemptStatus(attempt=1, state="Running")],
    )
    conditions = [
        Condition(
            type=kind,
            status="True" if (kind == "Completed" or passed) else "False",
            reason="AllSuitesPassed" if passed else "SuiteFailed",
            message=f"{int(passed)}/1 suites passed",
            last_transition_time=now,
        )
        for kind in ("Completed", "Succeeded")
        if done
    ]
    status = TestRunStatus(
        phase=phase,
        observed_generation=1,
        conditions=conditions,
        waves=[["smoke"]],
        suites=[suite],
        summary=Summary(
            progress=f"{int(passed)}/1",
            suites=SuiteCounts(total=1, passed=int(passed), failed=int(done and not passed)),
            tests=TestCounts(total=3, passed=3 if passed else 2, failed=0 if passed else 1),
        ),
        message=f"wave 1/1: {phase}",
        duration="42s",
    )
    return status.model_dump(mode="json", by_alias=True, exclude_none=True)


def _patch_status(
    custom: client.CustomObjectsApi, namespace: str, name: str, status: dict[str, Any]
) -> None:
    custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, PLURAL, name, {"status": status}
    )


def test_submit_without_wait_applies_the_testrun_server_side(
    cli: Callable[..., Result], custom: client.CustomObjectsApi, namespace: str, tmp_path: Path
) -> None:
    result = cli("submit", str(_manifest(tmp_path)))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "testrun.cqltest.dev/smoke"
    (stored,) = _testruns(custom, namespace)
    assert stored["metadata"]["name"] == "smoke"
    assert stored["spec"]["suites"][0]["name"] == "smoke"
    managers = {(m["manager"], m["operation"]) for m in stored["metadata"]["managedFields"]}
    assert ("cqltest", "Apply") in managers
    # Submitting the same manifest again is a no-op, not an error.
    assert cli("submit", str(_manifest(tmp_path))).exit_code == 0


def test_an_invalid_manifest_exits_2_and_creates_nothing(
    cli: Callable[..., Result], custom: client.CustomObjectsApi, namespace: str
) -> None:
    # A cycle: only the semantic check finds it, the CRD would have accepted it.
    result = cli("submit", str(EXAMPLES / "invalid" / "cycle.yaml"), "--wait")
    assert result.exit_code == 2, result.output
    assert "invalid TestRun" in result.stderr
    assert "cycle" in result.stderr
    assert _testruns(custom, namespace) == []


def test_what_only_local_mode_can_do_exits_2_and_creates_nothing(
    cli: Callable[..., Result], custom: client.CustomObjectsApi, namespace: str, tmp_path: Path
) -> None:
    def local_only(doc: dict[str, Any]) -> None:
        doc["spec"]["cluster"]["datacenters"][0]["size"] = 2
        doc["spec"]["suites"].append({"name": "mine", "path": "./my_suite"})
        doc["spec"]["faults"] = [
            {
                "name": "freeze",
                "action": "NodePause",
                "when": {"duringSuite": "smoke", "afterSeconds": 1},
            }
        ]

    (tmp_path / "my_suite").mkdir()
    result = cli("submit", str(_manifest(tmp_path, local_only)))
    assert result.exit_code == 2, result.output
    assert "spec.suites[1].path: a path suite runs only in local mode" in result.stderr
    assert "spec.faults[0].action: NodePause has no Kubernetes equivalent" in result.stderr
    assert _testruns(custom, namespace) == []


def test_a_manifest_the_crd_refuses_exits_2_with_the_apiservers_message(
    cli: Callable[..., Result], custom: client.CustomObjectsApi, namespace: str, tmp_path: Path
) -> None:
    assert cli("submit", str(_manifest(tmp_path))).exit_code == 0

    def more_parallel(doc: dict[str, Any]) -> None:
        doc["spec"]["parallelism"] = 3

    # Valid on its own, so only the apiserver can refuse it: the spec is immutable.
    result = cli("submit", str(_manifest(tmp_path, more_parallel)))
    assert result.exit_code == 2, result.output
    assert "the apiserver refused TestRun" in result.stderr
    assert "spec is immutable: create a new TestRun" in result.stderr
    (stored,) = _testruns(custom, namespace)
    assert stored["spec"].get("parallelism", 1) != 3


def test_a_namespace_that_does_not_exist_exits_2(
    control_plane: ControlPlane, crd: None, tmp_path: Path
) -> None:
    argv = ["submit", str(_manifest(tmp_path)), "-n", "no-such-namespace"]
    argv += ["--kubeconfig", str(control_plane.kubeconfig)]
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 2, result.output
    assert 'namespaces "no-such-namespace" not found' in result.stderr


def test_status_prints_the_status_the_operator_wrote(
    cli: Callable[..., Result], custom: client.CustomObjectsApi, namespace: str, tmp_path: Path
) -> None:
    assert cli("submit", str(_manifest(tmp_path))).exit_code == 0
    pending = cli("status", "smoke")
    assert pending.exit_code == 0, pending.output
    assert "Pending" in pending.stdout

    status = _status("Failed")
    _patch_status(custom, namespace, "smoke", status)
    table = cli("status", "smoke")
    assert table.exit_code == 0, table.output
    assert "TestRun smoke  Failed  42s" in table.stdout
    row = next(line for line in table.stdout.splitlines() if line.split()[:2] == ["1", "smoke"])
    assert row.split()[2:5] == ["Failed", "1", "2/3"]
    as_json = cli("status", "smoke", "-o", "json")
    assert json.loads(as_json.stdout) == status
    assert yaml.safe_load(cli("status", "smoke", "-o", "yaml").stdout) == status


def test_status_of_a_missing_run_exits_2(cli: Callable[..., Result], namespace: str) -> None:
    result = cli("status", "nothing")
    assert result.exit_code == 2
    assert f"no TestRun nothing in namespace {namespace}" in result.stderr


def _play_operator(
    custom: client.CustomObjectsApi,
    core: client.CoreV1Api,
    namespace: str,
    final: str,
    errors: list[BaseException],
) -> threading.Thread:
    """A thread that waits for the TestRun, then moves it Running -> report -> ``final``."""

    def run() -> None:
        try:
            for _ in range(200):
                if _testruns(custom, namespace):
                    break
                time.sleep(0.05)
            time.sleep(0.5)
            _patch_status(custom, namespace, "smoke", _status("Running"))
            time.sleep(0.5)
            report = {"smoke.a1.json": json.dumps({"suite": "smoke", "attempt": 1})}
            body = {"metadata": {"name": "smoke-report"}, "data": {**report, "junit.xml": JUNIT}}
            core.create_namespaced_config_map(namespace, body)
            _patch_status(custom, namespace, "smoke", _status(final))
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize(("final", "code"), [("Succeeded", 0), ("Failed", 1)])
def test_submit_wait_follows_the_run_and_writes_junit_from_the_report(
    cli: Callable[..., Result],
    custom: client.CustomObjectsApi,
    kube_api: Any,
    namespace: str,
    tmp_path: Path,
    final: str,
    code: int,
) -> None:
    errors: list[BaseException] = []
    thread = _play_operator(custom, client.CoreV1Api(kube_api), namespace, final, errors)
    junit = tmp_path / "out" / "junit.xml"
    started = time.monotonic()
    result = cli("submit", str(_manifest(tmp_path)), "--wait", "--timeout", "60s",
                 "--junit", str(junit))  # fmt: skip
    thread.join(timeout=10)
    assert errors == []
    assert result.exit_code == code, result.output
    assert time.monotonic() - started < 30
    assert junit.read_text() == JUNIT
    # Progress on stderr, one line per change; the report on stdout.
    assert "[smoke] Pending: waiting for the operator" in result.stderr
    assert "[smoke] suite smoke: Running" in result.stderr
    assert f"[smoke] {final}: wave 1/1: {final}" in result.stderr
    assert f"TestRun smoke  {final}" in result.stdout
    assert "suites passed" in result.stdout


def test_submit_wait_reports_an_invalid_run_with_exit_2(
    cli: Callable[..., Result], custom: client.CustomObjectsApi, namespace: str, tmp_path: Path
) -> None:
    assert cli("submit", str(_manifest(tmp_path))).exit_code == 0
    invalid = TestRunStatus(phase="Invalid", message="spec.suites[0].path: local mode only")
    _patch_status(
        custom,
        namespace,
        "smoke",
        invalid.model_dump(mode="json", by_alias=True, exclude_none=True),
    )
    junit = tmp_path / "junit.xml"
    started = time.monotonic()
    result = cli("submit", str(_manifest(tmp_path)), "--wait", "-o", "json", "--junit", str(junit))
    assert result.exit_code == 2, result.output
    assert time.monotonic() - started < 5, "waited for a report an Invalid run never has"
    assert "already exists" in result.stderr
    assert json.loads(result.stdout)["phase"] == "Invalid"
    # No report ConfigMap: the JUnit comes from the status, and the CLI says so.
    assert "JUnit rendered from the status" in result.stderr
    assert junit.read_text().startswith("<?xml")


def test_submit_wait_past_its_timeout_exits_1_and_leaves_the_run(
    cli: Callable[..., Result], custom: client.CustomObjectsApi, namespace: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    result = cli("submit", str(_manifest(tmp_path)), "--wait", "--timeout", "2s")
    assert result.exit_code == 1, result.output
    assert 2 <= time.monotonic() - started < 15
    assert "timed out after 2s waiting for TestRun" in result.stderr
    assert "it keeps running" in result.stderr
    assert [t["metadata"]["name"] for t in _testruns(custom, namespace)] == ["smoke"]


def _attempt_objects(
    kube_api: Any, namespace: str, attempt: int, *, pod: bool
) -> tuple[dict[str, Any], ...]:
    labels = {
        "cqltest.dev/testrun": "smoke",
        "cqltest.dev/suite": "smoke",
        "cqltest.dev/attempt": str(attempt),
        "cqltest.dev/component": "suite",
    }
    name = f"smoke-smoke-a{attempt}"
    container = {"name": "suite", "image": "example.invalid/suite:1"}
    job = {
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": labels},
                "spec": {"restartPolicy": "Never", "containers": [container]},
            },
        },
    }
    client.BatchV1Api(kube_api).create_namespaced_job(namespace, job)
    if not pod:
        return (job,)
    body = {
        "metadata": {"name": f"{name}-x1", "labels": labels},
        "spec": {"restartPolicy": "Never", "containers": [container]},
    }
    client.CoreV1Api(kube_api).create_namespaced_pod(namespace, body)
    return job, body


def test_logs_says_what_is_missing_with_exit_2(
    cli: Callable[..., Result], kube_api: Any, namespace: str, tmp_path: Path
) -> None:
    missing_run = cli("logs", "nothing", "smoke")
    assert missing_run.exit_code == 2
    assert f"no TestRun nothing in namespace {namespace}" in missing_run.stderr

    assert cli("submit", str(_manifest(tmp_path))).exit_code == 0
    missing_suite = cli("logs", "smoke", "reads")
    assert missing_suite.exit_code == 2
    assert "TestRun smoke has no suite 'reads'; its suites: smoke" in missing_suite.stderr

    not_started = cli("logs", "smoke", "smoke")
    assert not_started.exit_code == 2
    assert "suite smoke of TestRun smoke has not started an attempt yet" in not_started.stderr

    _attempt_objects(kube_api, namespace, 1, pod=True)
    _attempt_objects(kube_api, namespace, 2, pod=False)
    missing_attempt = cli("logs", "smoke", "smoke", "--attempt", "3")
    assert missing_attempt.exit_code == 2
    assert "has no attempt 3; it has 1, 2" in missing_attempt.stderr

    # The latest attempt is the default; its pod is gone.
    no_pod = cli("logs", "smoke", "smoke")
    assert no_pod.exit_code == 2
    assert "attempt 2 of suite smoke of TestRun smoke has no pod" in no_pod.stderr

    # Attempt 1's pod is found by its labels; never scheduled, it has no log to show.
    first = cli("logs", "smoke", "smoke", "--attempt", "1")
    assert first.exit_code == 0, first.output
    assert "pod smoke-smoke-a1-x1 has no log (yet): phase Pending" in first.stderr

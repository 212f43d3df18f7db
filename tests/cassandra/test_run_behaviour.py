"""``cqltest run`` behaviours that need a cluster but not a fresh one: attach to the session's
``cluster_single`` through ``spec.cluster.existing``, plus bad input, timeouts, retries and
Ctrl-C. The Ctrl-C test provisions its own 1-node cluster, because what it checks is that an
interrupted run leaves no Cassandra process and no suite process behind.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import textwrap
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml
from cqltest.local import ClusterInfo
from test_run_examples import CQLTEST, run_cqltest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.cassandra

SLEEPER = """
import pathlib
import time


def test_sleeps(suite_params):
    pathlib.Path(suite_params["marker"]).write_text("started")
    time.sleep(300)
"""

FLAKY = """
import os


def test_passes_on_second_attempt():
    assert int(os.environ["CQLTEST_ATTEMPT"]) >= 2, "first attempt fails on purpose"
"""


def _manifest(
    tmp_path: Path, name: str, cluster: dict[str, Any], suites: list[dict[str, Any]]
) -> Path:
    doc = {
        "apiVersion": "cqltest.dev/v1alpha1",
        "kind": "TestRun",
        "metadata": {"name": name},
        "spec": {"cluster": cluster, "suites": suites},
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _existing(info: ClusterInfo) -> dict[str, Any]:
    return {
        "existing": {
            "contactPoints": info.contact_points,
            "port": info.port,
            "localDatacenter": "dc1",
        }
    }


def _suite_dir(tmp_path: Path, name: str, source: str) -> str:
    directory = tmp_path / name
    directory.mkdir()
    (directory / "test_it.py").write_text(textwrap.dedent(source))
    return name


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "CQLTEST_HOME": str(home)}


def _run(home: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return run_cqltest(home, *args, timeout=timeout)


def _processes_mentioning(text: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(text in part for part in proc.info["cmdline"] or []):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def _wait_gone(text: str, seconds: float = 15) -> list[psutil.Process]:
    deadline = time.monotonic() + seconds
    while (left := _processes_mentioning(text)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "manifest", sorted((REPO / "manifests" / "examples" / "invalid").glob("*.yaml")), ids=str
)
def test_invalid_manifest_exits_2_and_creates_nothing(tmp_path: Path, manifest: Path) -> None:
    home = tmp_path / "home"
    proc = _run(home, str(manifest), "--output", "json", timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    status = json.loads(proc.stdout)
    assert status["phase"] == "Invalid"
    assert status["message"]
    assert "spec" in proc.stderr or "metadata" in proc.stderr, proc.stderr
    assert not (home / "clusters").exists(), "an invalid manifest provisioned something"


@pytest.mark.timeout(180)
def test_attach_to_existing_cluster(tmp_path: Path, cluster_single: ClusterInfo) -> None:
    manifest = _manifest(
        tmp_path, "attach", _existing(cluster_single), [{"name": "smoke", "timeout": "3m"}]
    )
    proc = _run(tmp_path / "home", str(manifest), "--output", "json")
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout)
    assert status["phase"] == "Succeeded"
    assert status["cluster"]["existing"] is True
    assert status["cluster"]["contactPoints"] == cluster_single.contact_points
    [smoke] = status["suites"]
    assert smoke["phase"] == "Passed"
    assert smoke["tests"]["passed"] == smoke["tests"]["total"] >= 8
    assert not (tmp_path / "home" / "clusters").exists(), "attaching must not provision"
    # An existing cluster is never torn down.
    with socket.create_connection((cluster_single.contact_points[0], cluster_single.port), 5):
        pass


@pytest.mark.timeout(240)
def test_attach_with_auth_and_tls(tmp_path: Path, cluster_secure: ClusterInfo) -> None:
    assert cluster_secure.ca_path is not None
    assert cluster_secure.password is not None
    existing = _existing(cluster_secure)
    existing["existing"].update(
        username=cluster_secure.username,
        passwordFrom={"env": "RUNNER_TEST_CASSANDRA_PASSWORD"},
        caPath=os.path.relpath(cluster_secure.ca_path, tmp_path),  # relative to the manifest
    )
    manifest = _manifest(tmp_path, "secure", existing, [{"name": "smoke"}])
    home = tmp_path / "home"
    missing = _run(home, str(manifest), "--output", "json")
    assert missing.returncode == 2
    assert "RUNNER_TEST_CASSANDRA_PASSWORD is not set" in missing.stderr
    env = {**os.environ, "CQLTEST_HOME": str(home)}
    env["RUNNER_TEST_CASSANDRA_PASSWORD"] = cluster_secure.password
    proc = subprocess.run(
        [CQLTEST, "run", str(manifest), "--output", "json"],
        env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [smoke] = json.loads(proc.stdout)["suites"]
    assert smoke["phase"] == "Passed"


@pytest.mark.timeout(180)
def test_suite_timeout_kills_the_attempt(tmp_path: Path, cluster_single: ClusterInfo) -> None:
    marker = tmp_path / "started"
    suite_dir = _suite_dir(tmp_path, "sleeper_timeout", SLEEPER)
    manifest = _manifest(
        tmp_path,
        "timeout",
        _existing(cluster_single),
        [{"name": "sleepy", "path": suite_dir, "timeout": "3s", "params": {"marker": str(marker)}}],
    )
    proc = _run(tmp_path / "home", str(manifest), "--output", "json")
    assert proc.returncode == 1, proc.stderr
    status = json.loads(proc.stdout)
    [sleepy] = status["suites"]
    assert sleepy["phase"] == "TimedOut", sleepy
    assert "timeout" in sleepy["reason"]
    assert marker.exists(), "the suite never started"
    assert sleepy["durationSeconds"] < 60
    assert _wait_gone(str(tmp_path / suite_dir)) == [], "the timed-out suite process survived"


@pytest.mark.timeout(180)
def test_failed_attempt_is_retried(tmp_path: Path, cluster_single: ClusterInfo) -> None:
    suite_dir = _suite_dir(tmp_path, "flaky", FLAKY)
    manifest = _manifest(
        tmp_path,
        "retry",
        _existing(cluster_single),
        [{"name": "flaky", "path": suite_dir, "retries": 1}],
    )
    proc = _run(tmp_path / "home", str(manifest), "--output", "json")
    assert proc.returncode == 0, proc.stderr
    [flaky] = json.loads(proc.stdout)["suites"]
    assert flaky["phase"] == "Passed"
    assert flaky["attempts"] == 2


@pytest.mark.timeout(300)
def test_ctrl_c_stops_suites_tears_down_and_writes_partial_status(tmp_path: Path) -> None:
    home = tmp_path / "home"
    marker = tmp_path / "started"
    suite_dir = _suite_dir(tmp_path, "sleeper_sigint", SLEEPER)
    manifest = _manifest(
        tmp_path,
        "interrupted",
        {"datacenters": [{"name": "dc1", "size": 1}], "teardown": "Always"},
        [
            {"name": "sleepy", "path": suite_dir, "params": {"marker": str(marker)}},
            {"name": "later", "suite": "smoke", "dependsOn": ["sleepy"]},
        ],
    )
    status_file = tmp_path / "status.json"
    proc = subprocess.Popen(
        [CQLTEST, "run", str(manifest), "--status-file", str(status_file)],
        env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 200
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the suite never started"
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, out + err
    status = json.loads(status_file.read_text())
    assert status["phase"] == "Failed"
    assert status["reason"] == "Interrupted"
    suites = {s["name"]: s for s in status["suites"]}
    assert suites["sleepy"]["phase"] in ("Failed", "Error"), suites["sleepy"]
    assert suites["later"]["phase"] == "Skipped"
    assert _wait_gone(str(tmp_path / suite_dir)) == [], "a suite process outlived Ctrl-C"
    assert _wait_gone(str(home / "clusters")) == [], "a Cassandra node outlived Ctrl-C"
    clusters = home / "clusters"
    assert not clusters.exists() or not any(clusters.iterdir()), "the cluster was not torn down"

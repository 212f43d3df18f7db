"""Every example manifest, run end to end by ``cqltest run`` on a real local cluster it provisions.

These are the runs a user makes first (``make demo`` is the smoke one), so they go through the
real console script in a subprocess, provision their own cluster under a tmp ``CQLTEST_HOME``,
and are checked on every output a CI pipeline would consume: exit code, status, JUnit, metrics.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "manifests" / "examples"
CQLTEST = str(Path(sys.executable).parent / "cqltest")

pytestmark = pytest.mark.cassandra


def run_cqltest(home: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``cqltest run ARGS`` with ``CQLTEST_HOME=home``; past ``timeout`` it gets a Ctrl-C (so it
    tears its cluster down) and the test fails, instead of orphaning Cassandra nodes."""
    env = {**os.environ, "CQLTEST_HOME": str(home)}
    proc = subprocess.Popen(
        [CQLTEST, "run", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
        pytest.fail(f"cqltest run took over {timeout}s; interrupted it:\n{err[-3000:]}")
    finally:
        if proc.poll() is None:
            proc.kill()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _suites(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in status["suites"]}


def _no_cluster_left(home: Path) -> None:
    clusters = home / "clusters"
    left = [p.name for p in clusters.iterdir()] if clusters.is_dir() else []
    assert left == [], f"clusters left behind after teardown: {left}"


@pytest.mark.timeout(420)
def test_smoke_example(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_cqltest(
        tmp_path / "home",
        str(EXAMPLES / "smoke.yaml"),
        "--junit", str(out / "junit.xml"),
        "--metrics", str(out / "metrics.prom"),
        "--status-file", str(out / "status.json"),
        timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Succeeded" in proc.stdout
    status = json.loads((out / "status.json").read_text())
    assert status["phase"] == "Succeeded"
    smoke = _suites(status)["smoke"]
    assert smoke["phase"] == "Passed"
    assert smoke["tests"]["total"] >= 8
    assert smoke["tests"]["passed"] == smoke["tests"]["total"]
    assert smoke["metrics"]["operations"] > 0
    assert status["cluster"]["state"] == "TornDown"

    junit = ET.parse(out / "junit.xml").getroot()
    assert junit.tag == "testsuites"
    testsuites = junit.findall("testsuite")
    assert [s.get("name") for s in testsuites] == ["smoke"]
    assert len(testsuites[0].findall("testcase")) == smoke["tests"]["total"]

    families = {
        f.name: f for f in text_string_to_metric_families((out / "metrics.prom").read_text())
    }
    runs = {s.labels["phase"]: s.value for s in families["cqltest_testruns"].samples}
    assert runs["Succeeded"] == 1
    ops = families["cqltest_suite_operations"].samples[0]
    assert ops.labels == {"run": "smoke", "suite": "smoke"}
    assert ops.value == smoke["metrics"]["operations"]
    _no_cluster_left(tmp_path / "home")


@pytest.mark.timeout(600)
def test_dag_example(tmp_path: Path) -> None:
    junit = tmp_path / "dag.xml"
    proc = run_cqltest(
        tmp_path / "home", str(EXAMPLES / "dag.yaml"), "--output", "json", "--junit", str(junit),
        timeout=420,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    status = json.loads(proc.stdout)  # stdout is exactly the status document
    assert status["phase"] == "Failed"
    assert status["waves"] == [
        ["schema", "broken"],
        ["reads", "writes", "after-broken"],
        ["summary"],
    ]
    suites = _suites(status)
    broken = suites["broken"]
    assert broken["phase"] == "Failed"
    assert broken["tests"]["failed"] == 0
    [threshold] = broken["thresholds"]
    assert threshold["metric"] == "minOpsPerSecond"
    assert threshold["ok"] is False
    skipped = suites["after-broken"]
    assert skipped["phase"] == "Skipped"
    assert "broken" in skipped["reason"]
    for name in ("schema", "reads", "writes", "summary"):
        suite = suites[name]
        assert suite["phase"] == "Passed", suite
        assert suite["tests"]["failed"] == 0
        assert suite["tests"]["passed"] == suite["tests"]["total"] >= 8
        metrics = suite["metrics"]
        assert metrics["operations"] > 0
        assert metrics["opsPerSecond"] > 0
        latency = metrics["latencyMs"]
        assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]
    # The diamond ran in dependency order.
    assert suites["schema"]["finishedAt"] <= suites["reads"]["startedAt"]
    assert suites["schema"]["finishedAt"] <= suites["writes"]["startedAt"]
    assert (
        max(suites["reads"]["finishedAt"], suites["writes"]["finishedAt"])
        <= (suites["summary"]["startedAt"])
    )
    assert status["summary"]["suites"]["passed"] == 4
    testsuites = {t.get("name"): t for t in ET.parse(junit).getroot().findall("testsuite")}
    assert set(testsuites) == set(suites)
    assert testsuites["broken"].get("failures") == "1"
    assert testsuites["after-broken"].get("skipped") == "1"
    _no_cluster_left(tmp_path / "home")


@pytest.mark.timeout(480)
def test_multi_dc_example_with_auth_and_tls(tmp_path: Path) -> None:
    # 3 nodes with TLS start in about a minute here; a cluster that cannot form (the example's
    # readyTimeout is 10m) is cut short at 5 minutes so it cannot eat the CI budget.
    proc = run_cqltest(
        tmp_path / "home", str(EXAMPLES / "multi-dc.yaml"), "--output", "yaml", timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    import yaml

    status = yaml.safe_load(proc.stdout)
    assert status["phase"] == "Succeeded"
    assert status["cluster"]["datacenters"] == {"dc1": "Ready", "dc2": "Ready"}
    smoke = _suites(status)["smoke"]
    assert smoke["phase"] == "Passed"
    assert smoke["tests"]["passed"] == smoke["tests"]["total"] >= 8
    _no_cluster_left(tmp_path / "home")

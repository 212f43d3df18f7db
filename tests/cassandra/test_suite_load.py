"""The load suite through ``cqltest run`` on the session node: its tests pass, and a threshold
it cannot meet fails the suite with the breach named (thresholds judge the metrics it reports).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from cqltest.local import ClusterInfo
from test_run_examples import run_cqltest

pytestmark = pytest.mark.cassandra


@pytest.mark.timeout(240)
def test_load_passes_its_tests_and_fails_an_unmeetable_threshold(
    tmp_path: Path, cluster_single: ClusterInfo
) -> None:
    manifest = tmp_path / "load.yaml"
    existing = {
        "contactPoints": cluster_single.contact_points,
        "port": cluster_single.port,
        "localDatacenter": "dc1",
    }
    entry = {
        "name": "load",
        "params": {"duration": "3s", "concurrency": 8},
        "thresholds": {"minOpsPerSecond": 1_000_000, "errorRate": 0.01},
    }
    document = {
        "apiVersion": "cqltest.dev/v1alpha1",
        "kind": "TestRun",
        "metadata": {"name": "load-threshold"},
        "spec": {"cluster": {"existing": existing}, "suites": [entry]},
    }
    manifest.write_text(yaml.safe_dump(document), encoding="utf-8")
    proc = run_cqltest(tmp_path / "home", str(manifest), "--output", "json", timeout=200)
    status = json.loads(proc.stdout)
    [load] = status["suites"]
    assert load["tests"]["passed"] == load["tests"]["total"] == 13, load
    assert status["phase"] == "Failed", status
    assert proc.returncode == 1
    assert load["phase"] == "Failed"
    assert "threshold breached: minOpsPerSecond" in load["reason"], load["reason"]
    assert "errorRate" not in load["reason"], "a healthy node breached the error rate"
    checked = {t["metric"]: t["ok"] for t in load["thresholds"]}
    assert checked == {"minOpsPerSecond": False, "errorRate": True}, load["thresholds"]
    assert load["metrics"]["operations"] > 100, load["metrics"]

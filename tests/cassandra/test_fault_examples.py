"""The node-kill example end to end: ``cqltest run`` provisions 3 nodes, kills one mid-run,
restarts it, and the run succeeds with 0 lost writes and the kill's whole timeline in status.

The partition and rolling-restart examples cost a cluster each too; the partition itself is
proven on the session cluster (test_faults_local) and both examples are validated with the
others, so only this one provisions its own cluster here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cqltest.local import netfaults
from test_run_examples import EXAMPLES, _no_cluster_left, run_cqltest

pytestmark = pytest.mark.cassandra


@pytest.mark.timeout(900)
def test_node_kill_example_loses_no_acknowledged_write(tmp_path: Path) -> None:
    tables = set(netfaults.tables())
    proc = run_cqltest(
        tmp_path / "home", str(EXAMPLES / "node-kill.yaml"), "--output", "json", timeout=800
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    status = json.loads(proc.stdout)
    assert status["phase"] == "Succeeded", status["message"]
    [fault] = status["faults"]
    assert (fault["name"], fault["action"], fault["phase"]) == ("kill-one", "NodeKill", "Recovered")
    assert len(fault["targets"]) == 1
    assert fault["injectedAt"] < fault["healedAt"] < fault["recoveredAt"]
    [suite] = status["suites"]
    assert suite["phase"] == "Passed", suite.get("reason")
    metrics = suite["metrics"]
    assert metrics["lostWrites"] == 0
    assert metrics["acknowledgedWrites"] > 0
    [threshold] = suite["thresholds"]
    assert (threshold["metric"], threshold["value"], threshold["ok"]) == ("maxLostWrites", 0, True)
    assert status["cluster"]["state"] == "TornDown"
    _no_cluster_left(tmp_path / "home")
    assert set(netfaults.tables()) == tables

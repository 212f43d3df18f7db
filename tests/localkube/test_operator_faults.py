"""Faults in operator mode, end to end on localkube: the real operator deletes real node Pods.

The fault examples, shortened (a 30 s workload, the fault a few seconds in), run through the
operator: a NodeKill force-deletes a node Pod of a 3-node RF 3 cluster under QUORUM load, the
K8ssandra stand-in SIGKILLs and restarts the node as a StatefulSet would, the operator is killed
and replaced while the node recovers, and the run succeeds with the kill's timeline in
``status.faults`` and Events; a RollingRestart deletes the Pods gracefully one after the other;
a Partition between two datacenters is a NetworkPolicy pair the stand-in enforces with
nftables, gone after the run; a NodePause is refused at admission.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from agentkit import wait_for
from cqltest.localkube.instance import Localkube
from cqltest.model import load_testrun
from cqltest.render.cluster import cluster_name
from operatorkit import (
    CQLTEST,
    EXAMPLES,
    Operator,
    apply,
    example,
    get_testrun,
    items,
    module_operator,
    new_namespace,
    start_operator,
    suites,
    wait_completed,
)

pytestmark = [pytest.mark.kube, pytest.mark.cassandra, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def operator(localkube: Localkube, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Operator]:
    with module_operator(localkube, "opf-*", tmp_path_factory) as running:
        yield running


def shortened(name: str, **fault: Any) -> dict[str, Any]:
    """An example with a 30 s workload and its fault a few seconds in."""
    manifest = example(name)
    manifest["spec"]["suites"][0]["params"]["duration"] = "30s"
    manifest["spec"]["faults"][0].update(fault)
    return manifest


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def timeline(run: dict[str, Any]) -> str:
    """Where a run's time went (printed: the figures behind the test's duration)."""
    status = run["status"]
    start = at(run["metadata"]["creationTimestamp"])
    marks = {"cluster ready": (status.get("cluster") or {}).get("readyAt")}
    for suite in status["suites"]:
        marks[f"{suite['name']} started"] = suite.get("startedAt")
        marks[f"{suite['name']} finished"] = suite.get("finishedAt")
    for fault in status["faults"]:
        for key in ("injectedAt", "healedAt", "recoveredAt"):
            marks[f"{fault['name']} {key}"] = fault.get(key)
    marks["finished"] = status.get("finishedAt")
    seen = {k: round((at(v) - start).total_seconds(), 1) for k, v in marks.items() if v}
    return f"{run['metadata']['name']} timeline (s from start): {seen}"


def events(localkube: Localkube, namespace: str, kind: str, name: str) -> list[dict[str, Any]]:
    selector = f"involvedObject.kind={kind},involvedObject.name={name}"
    found = localkube.kubectl(
        "get", "events", "-n", namespace, "--field-selector", selector, "-o", "json"
    )
    listed: list[dict[str, Any]] = json.loads(found.stdout)["items"]
    return listed


def test_a_node_kill_under_quorum_restarts_the_pod_and_the_run_succeeds(
    localkube: Localkube, operator: Operator
) -> None:
    ns = new_namespace(localkube, "opf-kill")
    manifest = shortened(
        "node-kill.yaml", when={"duringSuite": "resilience", "afterSeconds": 8}, downFor="5s"
    )
    apply(localkube, ns, manifest)

    def fault_phase() -> str | None:
        status = (get_testrun(localkube, ns, "node-kill") or {}).get("status") or {}
        phase = (status.get("faults") or [{}])[0].get("phase")
        return str(phase) if phase in ("Healed", "Recovered", "Failed") else None

    # Killed while the node recovers: the next operator carries on from the status and the
    # cluster's objects (the recovery Job it finds), posting no Event twice.
    seen = wait_for("the kill healed", fault_phase, timeout=500)
    operator.kill()
    replacement = start_operator(localkube, "opf-*", operator.log_path)
    vars(operator).update(vars(replacement))  # the module's fixture stops the one running
    print(f"operator killed with the fault {seen}")
    run = wait_completed(localkube, ns, "node-kill", 600, operator)
    status = run["status"]
    assert status["phase"] == "Succeeded", json.dumps(status, indent=1)[-3000:]
    resilience = suites(run)["resilience"]
    assert resilience["phase"] == "Passed"
    [fault] = status["faults"]
    cluster = cluster_name("node-kill", load_testrun(EXAMPLES / "node-kill.yaml").spec.cluster)
    victim = f"{cluster}-dc1-default-sts-2"
    assert (fault["name"], fault["phase"], fault["targets"]) == ("kill-one", "Recovered", [victim])
    injected, healed, recovered = (at(fault[k]) for k in ("injectedAt", "healedAt", "recoveredAt"))
    assert injected < healed <= recovered
    assert (healed - injected).total_seconds() >= 5  # downFor, as the heal is recorded

    print(timeline(run))
    reasons = [e["reason"] for e in events(localkube, ns, "TestRun", "node-kill")]
    for reason in ("FaultInjected", "FaultHealed", "FaultRecovered"):
        assert reasons.count(reason) == 1, reasons
    assert "FaultFailed" not in reasons
    killed = [
        e["message"]
        for e in events(localkube, ns, "K8ssandraCluster", cluster)
        if e["reason"] == "NodeKilled"
    ]
    assert killed, "the stand-in saw no forced deletion"
    assert all(victim in message for message in killed)
    recovery = items(localkube, "jobs", ns, "cqltest.dev/component=recovery")
    assert recovery, "no recovery probe Job ran"
    assert any(
        c["type"] == "Complete" and c["status"] == "True"
        for job in recovery
        for c in (job.get("status") or {}).get("conditions") or []
    )


def test_a_partition_submitted_with_the_cli_succeeds_and_leaves_no_policy(
    localkube: Localkube, operator: Operator, tmp_path: Path
) -> None:
    ns = new_namespace(localkube, "opf-cut")
    manifest = shortened(
        "partition.yaml", when={"duringSuite": "resilience", "afterSeconds": 5}, duration="10s"
    )
    path = tmp_path / "partition.yaml"
    path.write_text(yaml.safe_dump(manifest))
    done = subprocess.run(
        [CQLTEST, "submit", str(path), "-n", ns, "--kubeconfig", str(localkube.kubeconfig),
         "--wait", "--timeout", "10m", "-o", "json"],
        capture_output=True, text=True, timeout=700, check=False,
    )  # fmt: skip
    assert done.returncode == 0, (
        f"{done.stderr[-3000:]}\n{done.stdout[-3000:]}\n{operator.log[-3000:]}"
    )
    run = get_testrun(localkube, ns, "partition")
    assert run is not None
    status = run["status"]
    assert status["phase"] == "Succeeded"
    [fault] = status["faults"]
    assert fault["phase"] == "Recovered", fault
    cluster = cluster_name("partition", load_testrun(EXAMPLES / "partition.yaml").spec.cluster)
    assert sorted(fault["targets"]) == [
        f"{cluster}-dc1-default-sts-0",
        f"{cluster}-dc2-default-sts-0",
    ]
    assert at(fault["injectedAt"]) < at(fault["healedAt"]) <= at(fault["recoveredAt"])
    cut = [
        e["message"]
        for e in events(localkube, ns, "K8ssandraCluster", cluster)
        if e["reason"] == "NetworkPolicy" and e["type"] == "Normal"
    ]
    assert cut, "the stand-in never enforced the policies"
    assert items(localkube, "networkpolicies", ns) == []
    # the cut was real: EACH_QUORUM probe writes failed while it lasted
    probe_errors = suites(run)["resilience"]["metrics"].get("probeErrorsByKind") or {}
    assert sum(probe_errors.values()) > 0, suites(run)["resilience"]["metrics"]
    print(timeline(run))
    reasons = [e["reason"] for e in events(localkube, ns, "TestRun", "partition")]
    assert {"FaultInjected", "FaultHealed", "FaultRecovered"} <= set(reasons)


def test_a_rolling_restart_stops_one_pod_after_the_other(
    localkube: Localkube, operator: Operator
) -> None:
    ns = new_namespace(localkube, "opf-roll")
    manifest = shortened(
        "rolling-restart.yaml", when={"duringSuite": "resilience", "afterSeconds": 5}
    )
    apply(localkube, ns, manifest)
    run = wait_completed(localkube, ns, "rolling-restart", 600, operator)
    print(timeline(run))
    status = run["status"]
    assert status["phase"] == "Succeeded", json.dumps(status, indent=1)[-3000:]
    [fault] = status["faults"]
    spec = load_testrun(EXAMPLES / "rolling-restart.yaml").spec
    cluster = cluster_name("rolling-restart", spec.cluster)
    pods = [f"{cluster}-dc1-default-sts-{index}" for index in range(3)]
    assert (fault["phase"], fault["targets"]) == ("Recovered", pods), fault
    assert at(fault["injectedAt"]) < at(fault["healedAt"]) == at(fault["recoveredAt"])
    stopped = sorted(
        (e["firstTimestamp"], e["message"])
        for e in events(localkube, ns, "K8ssandraCluster", cluster)
        if e["reason"] in ("NodeStopped", "NodeKilled")
    )
    # graceful deletes, in target order, one node each
    assert [next(p for p in pods if p in m) for _, m in stopped] == pods, stopped
    assert all("SIGTERM" in m for _, m in stopped), stopped


def test_a_node_pause_is_invalid_in_operator_mode(localkube: Localkube, operator: Operator) -> None:
    ns = new_namespace(localkube, "opf-pause")
    manifest = example("node-kill.yaml")
    manifest["spec"]["faults"][0]["action"] = "NodePause"
    apply(localkube, ns, manifest)
    status = wait_completed(localkube, ns, "node-kill", 120, operator)["status"]
    assert status["phase"] == "Invalid"
    assert "spec.faults[0].action" in status["message"]
    assert "NodePause has no Kubernetes equivalent" in status["message"]
    assert items(localkube, "k8ssandraclusters", ns) == []

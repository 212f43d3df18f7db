"""Operator-mode faults, the pure parts: which Pods, which policies, how far a rolling restart
got, which Events a status change posts, and NodePause refused at admission."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cqlsuites.__main__ import main as cqlsuites_main
from cqlsuites.probe import deaf
from cqltest.errors import ManifestError
from cqltest.kube.reconcile import _spec, transitions
from cqltest.model import FaultStatus, TestRunSpec, TestRunStatus, parse_testrun
from cqltest.render import faults as plan
from cqltest.render.environment import Connection
from cqltest.render.pods import Owner

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
OWNER = Owner("run", "ns", "uid-1")


def spec(*faults: dict[str, Any]) -> TestRunSpec:
    return parse_testrun(
        {
            "apiVersion": "cqltest.dev/v1alpha1",
            "kind": "TestRun",
            "metadata": {"name": "run", "namespace": "ns"},
            "spec": {
                "cluster": {
                    "datacenters": [
                        {"name": "dc1", "size": 3, "racks": ["r1", "r2"]},
                        {"name": "dc2", "size": 2},
                    ]
                },
                "suites": [{"name": "load", "suite": "resilience"}],
                "faults": list(faults),
            },
        }
    ).spec


def fault(action: str, **fields: Any) -> dict[str, Any]:
    return {"name": "f", "action": action, "when": {"duringSuite": "load"}, **fields}


def pod(name: str, created: datetime, *, ready: bool = True, deleting: bool = False) -> Any:
    meta: dict[str, Any] = {
        "name": name,
        "creationTimestamp": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "labels": {"app.kubernetes.io/managed-by": "cass-operator", "cqltest.dev/testrun": "run"},
    }
    if deleting:
        meta["deletionTimestamp"] = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    ip = f"10.0.0.{abs(hash(name)) % 200 + 1}"
    condition = {"type": "Ready", "status": "True" if ready else "False"}
    condition["lastTransitionTime"] = (created + timedelta(seconds=5)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    return {"metadata": meta, "status": {"podIP": ip, "conditions": [condition]}}


# ------------------------------------------------------------------ targets -> Pods


def test_targets_become_cass_operator_pod_names_with_racks_round_robin() -> None:
    run = spec(fault("RollingRestart", target={"datacenter": "dc1"}))
    [pods] = plan.fault_pods(run, run.faults[0], "demo")
    assert pods == ["demo-dc1-r1-sts-0", "demo-dc1-r2-sts-0", "demo-dc1-r1-sts-1"]


def test_a_datacenter_without_racks_uses_k8ssandras_default_rack() -> None:
    run = spec(fault("NodeKill", target={"datacenter": "dc2", "node": 1}))
    assert plan.fault_pods(run, run.faults[0], "demo") == [["demo-dc2-default-sts-1"]]


def test_partition_sides_are_pod_lists() -> None:
    run = spec(fault("Partition", between=[{"datacenter": "dc1"}, {"datacenter": "dc2"}]))
    sides = plan.fault_pods(run, run.faults[0], "c")
    assert sides == [
        ["c-dc1-r1-sts-0", "c-dc1-r2-sts-0", "c-dc1-r1-sts-1"],
        ["c-dc2-default-sts-0", "c-dc2-default-sts-1"],
    ]


def test_only_the_runs_own_cass_operator_pods_may_be_deleted() -> None:
    mine = pod("c-dc1-r1-sts-0", T0)
    assert plan.deletable(mine, "run") is None
    other = pod("c-dc1-r1-sts-0", T0)
    other["metadata"]["labels"]["cqltest.dev/testrun"] = "someone-else"
    assert "cqltest.dev/testrun=run" in (plan.deletable(other, "run") or "")
    pooled = pod("c-dc1-r1-sts-0", T0)
    del pooled["metadata"]["labels"]["cqltest.dev/testrun"]
    pooled["metadata"]["labels"]["cqltest.dev/pool"] = "default"
    assert plan.deletable(pooled, "run") is None
    foreign = pod("x", T0)
    foreign["metadata"]["labels"]["app.kubernetes.io/managed-by"] = "helm"
    assert "not a cass-operator node" in (plan.deletable(foreign, "run") or "")


# ------------------------------------------------------------------ rolling restart


def test_a_rolling_restart_deletes_one_pod_at_a_time_in_order() -> None:
    at = plan.injection_time(T0 + timedelta(microseconds=700))
    old = T0 - timedelta(hours=1)
    names = ["a", "b", "c"]
    pods = {n: pod(n, old) for n in names}
    assert plan.roll(names, pods, at) == plan.Roll(delete="a")
    pods["a"] = pod("a", old, deleting=True)
    assert plan.roll(names, pods, at).waiting == "a is being restarted"
    del pods["a"]
    assert plan.roll(names, pods, at).waiting == "a is being restarted"
    # recreated in the same second as the injection: still a replacement
    pods["a"] = pod("a", at, ready=False)
    assert plan.roll(names, pods, at).waiting == "a restarted, not Ready yet"
    pods["a"] = pod("a", at)
    assert plan.roll(names, pods, at) == plan.Roll(delete="b")
    pods["b"] = pod("b", at + timedelta(seconds=20))
    pods["c"] = pod("c", at + timedelta(seconds=40))
    done = plan.roll(names, pods, at)
    assert done.done_at == at + timedelta(seconds=45)
    assert done.delete is None


def test_injection_time_drops_the_fraction_pod_timestamps_lack() -> None:
    assert plan.injection_time(T0.replace(microsecond=999_999)) == T0


def test_recovery_addresses_wait_for_every_replacement() -> None:
    at = T0
    pods = [pod("a", at - timedelta(hours=1)), pod("b", at - timedelta(hours=1))]
    assert plan.addresses(["a"], pods, at, restarted=True) is None
    pods[0] = pod("a", at + timedelta(seconds=3))
    found = plan.addresses(["a"], pods, at, restarted=True)
    assert found == ([pods[0]["status"]["podIP"]], [pods[1]["status"]["podIP"]])
    # a partition's nodes were never deleted: the Pods as they are count
    old = [pod("a", at - timedelta(hours=1)), pod("b", at - timedelta(hours=1))]
    assert plan.addresses(["a", "b"], old, at, restarted=False) is not None


# ------------------------------------------------------------------ manifests


def test_a_datacenter_partition_is_a_pair_of_mirrored_policies() -> None:
    run = spec(fault("Partition", between=[{"datacenter": "dc1"}, {"datacenter": "dc2"}]))
    sides = plan.fault_pods(run, run.faults[0], "c")
    first, second = plan.partition_policies(OWNER, run.faults[0], "c", sides)
    assert first["metadata"]["name"] == "run-f-a1"
    assert first["metadata"]["labels"]["cqltest.dev/fault"] == "f"
    assert first["metadata"]["ownerReferences"][0]["uid"] == "uid-1"
    assert first["spec"]["podSelector"] == {
        "matchLabels": {
            "cassandra.datastax.com/cluster": "c",
            "cassandra.datastax.com/datacenter": "dc1",
        }
    }
    assert first["spec"]["policyTypes"] == ["Ingress"]
    [rule] = first["spec"]["ingress"]
    assert rule["from"] == [
        {
            "namespaceSelector": {},
            "podSelector": {
                "matchExpressions": [
                    {
                        "key": "cassandra.datastax.com/datacenter",
                        "operator": "NotIn",
                        "values": ["dc2"],
                    }
                ]
            },
        }
    ]
    peer = second["spec"]["ingress"][0]["from"][0]["podSelector"]["matchExpressions"][0]
    assert peer["values"] == ["dc1"]


def test_a_node_list_partition_selects_by_pod_name_on_both_sides() -> None:
    between = [{"datacenter": "dc1", "nodes": [0]}, {"datacenter": "dc2"}]
    run = spec(fault("Partition", between=between))
    sides = plan.fault_pods(run, run.faults[0], "c")
    first, second = plan.partition_policies(OWNER, run.faults[0], "c", sides)
    selector = first["spec"]["podSelector"]["matchExpressions"][0]
    assert selector == {
        "key": "statefulset.kubernetes.io/pod-name",
        "operator": "In",
        "values": ["c-dc1-r1-sts-0"],
    }
    peer = first["spec"]["ingress"][0]["from"][0]["podSelector"]["matchExpressions"][0]
    assert (peer["key"], peer["values"]) == (
        "statefulset.kubernetes.io/pod-name",
        ["c-dc2-default-sts-0", "c-dc2-default-sts-1"],
    )
    assert second["spec"]["podSelector"]["matchExpressions"][0]["values"] == sides[1]


def test_the_recovery_job_names_its_nodes_and_observers() -> None:
    job = plan.recovery_job(
        OWNER,
        "f",
        2,
        Connection(contact_points=("c-dc1-service",), local_dc="dc1"),
        (["10.0.0.1"], ["10.0.0.2", "10.0.0.3"]),
        image="img",
        timeout=timedelta(seconds=30),
    )
    assert job["metadata"]["name"] == "run-f-recovery-probe-p2"
    labels = job["metadata"]["labels"]
    assert (labels["cqltest.dev/component"], labels["cqltest.dev/fault"]) == ("recovery", "f")
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["command"][2:] == [
        "cqlsuites",
        "probe",
        "--timeout",
        "30",
        "--nodes",
        "10.0.0.1",
        "--observers",
        "10.0.0.2,10.0.0.3",
    ]
    assert job["spec"]["template"]["spec"]["automountServiceAccountToken"] is False


def test_one_probe_tries_for_what_is_left_within_bounds() -> None:
    assert plan.probe_timeout(timedelta(seconds=-3)) == plan.MIN_PROBE
    assert plan.probe_timeout(timedelta(seconds=40)) == timedelta(seconds=40)
    assert plan.probe_timeout(timedelta(hours=1)) == plan.MAX_PROBE


# ------------------------------------------------------------------ Events


def status(*faults: FaultStatus, phase: str = "Running") -> TestRunStatus:
    return TestRunStatus.model_validate(
        {"phase": phase, "faults": [f.model_dump() for f in faults]}
    )


def entry(phase: str, **fields: Any) -> FaultStatus:
    return FaultStatus(name="kill", action="NodeKill", phase=phase, **fields)  # type: ignore[arg-type]


def fault_events(before: TestRunStatus, after: TestRunStatus) -> list[tuple[str, str, bool]]:
    return [e for e in transitions(before, after) if e[0].startswith("Fault")]


def test_each_fault_step_posts_its_event() -> None:
    pending = status(entry("Pending"))
    injected = status(entry("Injected", targets=["c-dc1-default-sts-0"]))
    [(reason, message, warn)] = fault_events(pending, injected)
    assert (reason, warn) == ("FaultInjected", False)
    assert message == "fault kill (NodeKill) on c-dc1-default-sts-0: Injected"
    healed = status(entry("Healed"))
    assert [e[0] for e in fault_events(injected, healed)] == ["FaultHealed"]
    assert fault_events(healed, healed) == []


def test_steps_passed_between_two_reconciles_each_post_an_event() -> None:
    events = fault_events(status(entry("Pending")), status(entry("Recovered")))
    assert [e[0] for e in events] == ["FaultInjected", "FaultHealed", "FaultRecovered"]


def test_a_failed_fault_posts_a_warning_with_its_error() -> None:
    failed = status(entry("Failed", error="cannot inject NodeKill: no pod x"))
    [(reason, message, warn)] = fault_events(status(entry("Injected")), failed)
    assert (reason, warn) == ("FaultFailed", True)
    assert message.endswith("Failed: cannot inject NodeKill: no pod x")


# ------------------------------------------------------------------ admission and the probe


def test_nodepause_is_invalid_in_operator_mode_naming_field_value_and_rule() -> None:
    obj = {
        "apiVersion": "cqltest.dev/v1alpha1",
        "kind": "TestRun",
        "metadata": {"name": "run", "namespace": "ns"},
        "spec": {
            "cluster": {"datacenters": [{"name": "dc1", "size": 1}]},
            "suites": [{"name": "smoke"}],
            "faults": [{"name": "p", "action": "NodePause", "when": {"beforeSuite": "smoke"}}],
        },
    }
    with pytest.raises(ManifestError) as info:
        _spec(obj)
    [problem] = info.value.problems
    assert (problem.path, problem.value) == ("spec.faults[0].action", "NodePause")
    assert "no Kubernetes equivalent" in problem.message


def test_a_node_is_deaf_until_every_heartbeat_advanced() -> None:
    first = {"10.0.0.1": (1, 10), "10.0.0.2": (1, 20)}
    assert deaf("10.0.0.3", ["10.0.0.1"], first, {**first, "10.0.0.1": (1, 11)}) is None
    assert deaf("10.0.0.3", ["10.0.0.1"], first, first) == "10.0.0.1"
    assert deaf("10.0.0.3", ["10.0.0.9"], first, first) == "10.0.0.9"
    # a restarted node comes back with a new generation: that is an advance too
    assert deaf("10.0.0.3", ["10.0.0.1"], first, {"10.0.0.1": (2, 1)}) is None
    # an observer does not listen for itself
    assert deaf("10.0.0.1", ["10.0.0.1"], first, first) is None


def test_probe_nodes_must_be_a_list_without_holes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cqlsuites_main(["probe", "--nodes", "10.0.0.1,,10.0.0.2"])
    assert info.value.code == 2
    assert "empty address" in capsys.readouterr().err

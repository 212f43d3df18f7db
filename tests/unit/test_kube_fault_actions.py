"""``KubeFaults`` against a fake of the Kubernetes API (the ``kube.objects`` calls it makes).

What the localkube tests cannot easily show: the failures each name what is wrong, and a fresh
``KubeFaults`` (a new reconcile, or a restarted operator) picks a rolling restart up from the
Pods alone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cqltest.engine import FaultObserved, Observed
from cqltest.engine.observed import ClusterObserved
from cqltest.kube import faults as kube_faults
from cqltest.model import TestRunSpec, parse_testrun
from cqltest.render.environment import Connection
from cqltest.render.pods import NO_SECRETS, Owner
from fake_kube import FakeApi

NOW = datetime(2026, 1, 2, 3, 4, 5, 600_000, tzinfo=UTC)
OWNER = Owner("run", "ns", "uid-1")
OLD = "2026-01-01T00:00:00Z"


def node(name: str, created: str = OLD, *, run: str | None = "run") -> dict[str, Any]:
    labels = {
        "app.kubernetes.io/managed-by": "cass-operator",
        "cassandra.datastax.com/cluster": "c",
    }
    if run is not None:
        labels["cqltest.dev/testrun"] = run
    ready = {"type": "Ready", "status": "True", "lastTransitionTime": created}
    return {
        "metadata": {"name": name, "uid": f"uid-{name}-{created}", "creationTimestamp": created,
                     "labels": labels},
        "status": {"podIP": "10.0.0.1", "conditions": [ready]},
    }  # fmt: skip


def spec(action: str, **fault: Any) -> TestRunSpec:
    return parse_testrun(
        {
            "apiVersion": "cqltest.dev/v1alpha1",
            "kind": "TestRun",
            "metadata": {"name": "run", "namespace": "ns"},
            "spec": {
                "cluster": {"datacenters": [{"name": "dc1", "size": 2}]},
                "suites": [{"name": "load", "suite": "resilience"}],
                "faults": [
                    {"name": "f", "action": action, "when": {"beforeSuite": "load"}, **fault}
                ],
            },
        }
    ).spec


def faults(
    monkeypatch: pytest.MonkeyPatch, api: FakeApi, run: TestRunSpec, cluster: str | None = "c"
) -> kube_faults.KubeFaults:
    monkeypatch.setattr(kube_faults, "objects", api)
    probe = (Connection(contact_points=("c-dc1-service",)), NO_SECRETS, "img")
    return kube_faults.KubeFaults(None, OWNER, run, lambda: cluster, lambda: probe, lambda: NOW)  # type: ignore[arg-type]


PODS = ("c-dc1-default-sts-0", "c-dc1-default-sts-1")


def test_a_node_kill_force_deletes_the_target_and_records_it_in_whole_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = FakeApi({p: node(p) for p in PODS})
    done = faults(monkeypatch, api, spec("NodeKill", target={"node": 1}))
    done.inject("f")
    assert api.deleted == [("Pod", PODS[1], 0)]
    assert done.records["f"] == FaultObserved(
        targets=(PODS[1],), injected_at=NOW.replace(microsecond=0)
    )


def test_a_missing_pod_fails_the_fault_naming_it_and_what_is_there(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = FakeApi({PODS[0]: node(PODS[0])})
    done = faults(monkeypatch, api, spec("NodeStop", target={"node": 1}))
    done.inject("f")
    assert api.deleted == []
    assert done.records["f"].error == (
        f"cannot inject NodeStop: no pod {PODS[1]} in ns (pods: {PODS[0]})"
    )


def test_pods_of_another_run_are_never_deleted(monkeypatch: pytest.MonkeyPatch) -> None:
    api = FakeApi({p: node(p, run="other") for p in PODS})
    done = faults(monkeypatch, api, spec("NodeKill"))
    done.inject("f")
    assert api.deleted == []
    assert "is not labelled cqltest.dev/testrun=run" in (done.records["f"].error or "")


def test_a_cluster_reached_by_contact_points_only_cannot_take_faults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    done = faults(monkeypatch, FakeApi({}), spec("NodeKill"), cluster=None)
    done.inject("f")
    assert done.records["f"].error == f"cannot inject NodeKill: {kube_faults.NO_CLUSTER}"


def test_a_partition_is_created_then_removed_at_heal(monkeypatch: pytest.MonkeyPatch) -> None:
    api = FakeApi({p: node(p) for p in PODS})
    run = spec("Partition", between=[{"nodes": [0]}, {"nodes": [1]}])
    done = faults(monkeypatch, api, run)
    done.inject("f")
    assert sorted(api.store["NetworkPolicy"]) == ["run-f-a1", "run-f-a2"]
    done.heal("f", done.records["f"])
    assert sorted(api.store["NetworkPolicy"]) == []
    assert done.records["f"].healed_at == NOW


def test_each_reconcile_takes_a_rolling_restart_one_step_from_the_pods(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = FakeApi({p: node(p) for p in PODS})
    run = spec("RollingRestart")
    first = faults(monkeypatch, api, run)
    first.inject("f")
    assert api.deleted == [("Pod", PODS[0], None)]
    seen = first.records["f"]
    observed = Observed(ClusterObserved("Ready"), NOW, faults={"f": seen})
    # a new reconcile (or a restarted operator) knows only the status and the Pods
    second = faults(monkeypatch, api, run)
    second.advance(observed)
    assert api.deleted == [("Pod", PODS[0], None)]  # the first one is not back yet
    back = (NOW + timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    api.store["Pod"][PODS[0]] = node(PODS[0], back)
    faults(monkeypatch, api, run).advance(observed)
    assert api.deleted[-1] == ("Pod", PODS[1], None)
    later = (NOW + timedelta(seconds=70)).strftime("%Y-%m-%dT%H:%M:%SZ")
    api.store["Pod"][PODS[1]] = node(PODS[1], later)
    last = faults(monkeypatch, api, run)
    last.advance(observed)
    done_at = NOW.replace(microsecond=0) + timedelta(seconds=70)
    assert (last.records["f"].healed_at, last.records["f"].recovered_at) == (done_at, done_at)

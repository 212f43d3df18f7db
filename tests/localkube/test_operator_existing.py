"""Operator runs against a cluster that outlives them: attached by contact points or by name.

One K8ssandraCluster (served by localkube's stand-in) is made for the module; the runs here
attach to it instead of provisioning, which also makes them the cheap place to check what
happens to a run's children when a suite overruns its timeout, a test pod is deleted, or the
TestRun itself is deleted mid-run. The attached cluster must survive all of it.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agentkit import wait_for
from cqltest.engine.names import report_name
from cqltest.localkube.instance import Localkube
from operatorkit import (
    Operator,
    apply,
    get_testrun,
    items,
    new_namespace,
    running_operator,
    suites,
    wait_completed,
    wait_gone,
)

pytestmark = [pytest.mark.kube, pytest.mark.cassandra, pytest.mark.timeout(900)]

CRD = Path(__file__).resolve().parents[2] / "manifests" / "crds" / "testruns.cqltest.dev.yaml"
SLEEPER = ["python", "-c", "import time; time.sleep(300)"]


@pytest.fixture(scope="module")
def operator(localkube: Localkube, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Operator]:
    localkube.kubectl("apply", "-f", str(CRD))
    localkube.kubectl(
        "wait", "--for=condition=Established", "crd/testruns.cqltest.dev", "--timeout=60s"
    )
    log = tmp_path_factory.mktemp("operator") / "operator.log"
    with running_operator(localkube, "ex-*", log) as running:
        yield running


CO_SHARED = "cassandra.datastax.com/cluster=shared"


@pytest.fixture(scope="module")
def shared(localkube: Localkube, operator: Operator) -> Iterator[str]:
    """The namespace of a ready 1-node K8ssandraCluster `shared` (authentication on)."""
    ns = new_namespace(localkube, "ex-shared")
    cluster = {
        "apiVersion": "k8ssandra.io/v1alpha1",
        "kind": "K8ssandraCluster",
        "metadata": {"name": "shared"},
        "spec": {
            "auth": True,
            "cassandra": {
                "serverVersion": "5.0.9",
                "config": {"jvmOptions": {"heap_initial_size": "256Mi", "heap_max_size": "256Mi"}},
                "storageConfig": {
                    "cassandraDataVolumeClaimSpec": {"accessModes": ["ReadWriteOnce"]}
                },
                "datacenters": [{"metadata": {"name": "dc1"}, "size": 1}],
            },
        },
    }
    apply(localkube, ns, cluster)

    def ready() -> bool:
        found = items(localkube, "k8ssandraclusters", ns)
        conditions = (found[0].get("status") or {}).get("conditions") or [] if found else []
        return any(
            c["type"] == "CassandraInitialized" and c["status"] == "True" for c in conditions
        )

    wait_for("K8ssandraCluster shared ready", ready, timeout=300)
    yield ns
    localkube.kubectl("delete", "k8ssandracluster", "shared", "-n", ns, "--wait=true", timeout=180)


def run(name: str, existing: dict[str, Any], suites: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "cqltest.dev/v1alpha1",
        "kind": "TestRun",
        "metadata": {"name": name},
        "spec": {"cluster": {"existing": existing, "readyTimeout": "3m"}, "suites": suites},
    }


def node_address(localkube: Localkube, ns: str) -> str:
    [pod] = items(localkube, "pods", ns, "cassandra.datastax.com/cluster=shared")
    address: str = pod["status"]["podIP"]
    return address


def test_attach_by_name_and_by_contact_points(
    localkube: Localkube, operator: Operator, shared: str
) -> None:
    by_name = run(
        "by-name", {"k8ssandraCluster": "shared", "localDatacenter": "dc1"}, [{"name": "smoke"}]
    )
    secret = items(localkube, "secrets", shared)
    [superuser] = [s for s in secret if s["metadata"]["name"] == "shared-superuser"]
    username = base64.b64decode(superuser["data"]["username"]).decode()
    by_address = run(
        "by-address",
        {
            "contactPoints": [node_address(localkube, shared)],
            "localDatacenter": "dc1",
            "username": username,
            "passwordFrom": {"secretKeyRef": {"name": "shared-superuser", "key": "password"}},
        },
        [{"name": "smoke"}],
    )
    apply(localkube, shared, by_name)
    apply(localkube, shared, by_address)
    for name in ("by-name", "by-address"):
        result = wait_completed(localkube, shared, name, 300, operator)
        assert result["status"]["phase"] == "Succeeded", result["status"]
        assert result["status"]["cluster"]["existing"] is True
    # Attached clusters are never torn down.
    assert len(items(localkube, "k8ssandraclusters", shared)) == 1


def test_a_suite_over_its_timeout_is_timed_out_and_its_job_deleted(
    localkube: Localkube, operator: Operator, shared: str
) -> None:
    manifest = run(
        "slow",
        {"k8ssandraCluster": "shared", "localDatacenter": "dc1"},
        [{"name": "sleeper", "command": SLEEPER, "timeout": "5s"}],
    )
    apply(localkube, shared, manifest)
    result = wait_completed(localkube, shared, "slow", 300, operator)
    sleeper = suites(result)["sleeper"]
    assert sleeper["phase"] == "TimedOut", sleeper
    assert "5s" in sleeper["reason"]
    try:
        wait_gone(
            localkube, "jobs", shared, "cqltest.dev/testrun=slow,cqltest.dev/component=suite", 60
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\noperator log:\n{operator.log[-5000:]}") from None


def test_a_deleted_test_pod_fails_its_attempt_with_the_reason(
    localkube: Localkube, operator: Operator, shared: str
) -> None:
    manifest = run(
        "podgone",
        {"k8ssandraCluster": "shared", "localDatacenter": "dc1"},
        [{"name": "sleeper", "command": SLEEPER, "timeout": "5m"}],
    )
    apply(localkube, shared, manifest)
    selector = "cqltest.dev/testrun=podgone,cqltest.dev/component=suite"
    wait_for(
        "the sleeper's pod running",
        lambda: any(
            (p.get("status") or {}).get("phase") == "Running"
            for p in items(localkube, "pods", shared, selector)
        ),
        timeout=300,
    )
    localkube.kubectl("delete", "pods", "-n", shared, "-l", selector, "--wait=false")
    result = wait_completed(localkube, shared, "podgone", 120, operator)
    sleeper = suites(result)["sleeper"]
    assert sleeper["phase"] in ("Failed", "Error"), sleeper
    assert "deleted" in sleeper["reason"], sleeper["reason"]


def test_deleting_a_running_testrun_cleans_up_everything_it_made(
    localkube: Localkube, operator: Operator, shared: str
) -> None:
    manifest = run(
        "doomed",
        {"k8ssandraCluster": "shared", "localDatacenter": "dc1"},
        [{"name": "sleeper", "command": SLEEPER, "timeout": "5m"}],
    )
    apply(localkube, shared, manifest)
    wait_for(
        "the run Running",
        lambda: (
            ((get_testrun(localkube, shared, "doomed") or {}).get("status") or {}).get("phase")
            == "Running"
        ),
        timeout=300,
    )
    localkube.kubectl("delete", "tr", "doomed", "-n", shared, "--wait=true", timeout=120)
    assert get_testrun(localkube, shared, "doomed") is None
    wait_gone(localkube, "jobs", shared, "cqltest.dev/testrun=doomed", timeout=60)
    wait_gone(localkube, "pods", shared, "cqltest.dev/testrun=doomed", timeout=60)
    names = [c["metadata"]["name"] for c in items(localkube, "configmaps", shared)]
    assert report_name("doomed") not in names
    assert len(items(localkube, "k8ssandraclusters", shared)) == 1


def test_deleting_a_provisioning_testrun_uninstalls_its_cluster(
    localkube: Localkube, operator: Operator
) -> None:
    ns = new_namespace(localkube, "ex-provisioning")
    manifest = {
        "apiVersion": "cqltest.dev/v1alpha1",
        "kind": "TestRun",
        "metadata": {"name": "short-lived"},
        "spec": {
            "cluster": {"datacenters": [{"name": "dc1", "size": 1}]},
            "suites": [{"name": "smoke"}],
        },
    }
    apply(localkube, ns, manifest)
    wait_for("its K8ssandraCluster", lambda: items(localkube, "k8ssandraclusters", ns), timeout=120)
    localkube.kubectl("delete", "tr", "short-lived", "-n", ns, "--wait=true", timeout=180)
    wait_gone(localkube, "k8ssandraclusters", ns, None, timeout=120)
    releases = items(localkube, "secrets", ns, "owner=helm")
    assert releases == [], [r["metadata"]["name"] for r in releases]


def test_a_fault_on_an_attached_cluster_leaves_its_unlabelled_pods_alone(
    localkube: Localkube, operator: Operator, shared: str
) -> None:
    """allowFaultsOnExisting lets the run try, but the operator deletes only pods labelled as a
    cqltest run's cluster: the fault fails saying so, and the cluster's node keeps running."""
    before = {p["metadata"]["uid"] for p in items(localkube, "pods", shared, CO_SHARED)}
    assert before
    manifest = run(
        "faulty", {"k8ssandraCluster": "shared", "localDatacenter": "dc1"}, [{"name": "smoke"}]
    )
    manifest["spec"]["cluster"]["datacenters"] = [{"name": "dc1", "size": 1}]
    manifest["spec"]["allowFaultsOnExisting"] = True
    manifest["spec"]["faults"] = [
        {"name": "kill-it", "action": "NodeKill", "when": {"beforeSuite": "smoke"}}
    ]
    apply(localkube, shared, manifest)
    status = wait_completed(localkube, shared, "faulty", 300, operator)["status"]
    assert (status["phase"], status["reason"]) == ("Failed", "FaultFailed"), status
    [fault] = status["faults"]
    assert fault["phase"] == "Failed"
    assert "cannot inject NodeKill" in fault["reason"], fault
    assert "cqltest.dev/testrun=faulty" in fault["reason"], fault
    assert suites({"status": status})["smoke"]["phase"] == "Skipped"  # held back, never started
    assert len(items(localkube, "k8ssandraclusters", shared)) == 1
    assert {p["metadata"]["uid"] for p in items(localkube, "pods", shared, CO_SHARED)} == before

"""K8ssandraClusters served by the stand-in with real local Cassandra, through a real localkube.

Two clusters are applied once for the module, together (1 DC of 1 node; 2 DCs of 1 node each with
authentication), and shared by the tests; the test that deletes a cluster runs last.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from agentkit import apply, get, job, logs, wait_for
from cqltest.local import LocalCluster, nodes
from cqltest.localkube.instance import Localkube
from cqltest.localkube.k8ssandra.translate import local_name

pytestmark = [pytest.mark.kube, pytest.mark.cassandra, pytest.mark.timeout(600)]

READY_TIMEOUT = 300.0
STORAGE = {
    "cassandraDataVolumeClaimSpec": {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "1Gi"}},
    }
}


def k8ssandra_cluster(name: str, datacenters: list[str], auth: bool) -> dict[str, Any]:
    return {
        "apiVersion": "k8ssandra.io/v1alpha1",
        "kind": "K8ssandraCluster",
        "metadata": {"name": name},
        "spec": {
            "auth": auth,
            "cassandra": {
                "serverVersion": "5.0.9",
                "storageConfig": STORAGE,
                "config": {
                    "jvmOptions": {"heap_initial_size": "256Mi", "heap_max_size": "256Mi"},
                    "cassandraYaml": {"auto_snapshot": False},
                },
                "datacenters": [{"metadata": {"name": dc}, "size": 1} for dc in datacenters],
            },
        },
    }


def cluster_path(namespace: str, name: str) -> str:
    return f"/apis/k8ssandra.io/v1alpha1/namespaces/{namespace}/k8ssandraclusters/{name}"


def ready(body: dict[str, Any]) -> bool:
    """The contract's readiness predicate (§2.3 without the CQL probe)."""
    status = body.get("status") or {}
    conditions = {c["type"]: c["status"] for c in status.get("conditions") or []}
    if conditions.get("CassandraInitialized") != "True" or status.get("error") != "None":
        return False
    if status.get("observedGeneration", 0) < body["metadata"]["generation"]:
        return False
    for dc in body["spec"]["cassandra"]["datacenters"]:
        datacenter = (status.get("datacenters") or {}).get(dc["metadata"]["name"], {})
        cassandra = datacenter.get("cassandra") or {}
        dc_ready = {c["type"]: c["status"] for c in cassandra.get("conditions") or []}
        if dc_ready.get("Ready") != "True" or cassandra.get("cassandraOperatorProgress") != "Ready":
            return False
        if len(cassandra.get("nodeStatuses") or {}) != dc["size"]:
            return False
    return True


@dataclass
class Served:
    namespace: str
    seconds: dict[str, float]


@pytest.fixture(scope="module")
def served(localkube: Localkube) -> Iterator[Served]:
    namespace = f"k8c-{uuid.uuid4().hex[:6]}"
    localkube.kubectl("create", "namespace", namespace)
    started = time.monotonic()
    apply(
        localkube,
        namespace,
        k8ssandra_cluster("one", ["dc1"], auth=False),
        k8ssandra_cluster("two", ["dc1", "dc2"], auth=True),
    )
    seconds: dict[str, float] = {}
    deadline = started + READY_TIMEOUT
    while len(seconds) < 2 and time.monotonic() < deadline:
        for name in ("one", "two"):
            if name not in seconds and ready(get(localkube, cluster_path(namespace, name))):
                seconds[name] = time.monotonic() - started
        time.sleep(0.1)
    print(f"K8ssandraCluster create → ready seconds: {seconds}")
    assert len(seconds) == 2, (
        f"not ready after {READY_TIMEOUT:.0f}s: "
        f"{[get(localkube, cluster_path(namespace, n)).get('status') for n in ('one', 'two')]}"
    )
    try:
        yield Served(namespace, seconds)
    finally:
        localkube.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def pods_of(localkube: Localkube, namespace: str, cluster: str) -> dict[str, dict[str, Any]]:
    path = (
        f"/api/v1/namespaces/{namespace}/pods"
        f"?labelSelector=cassandra.datastax.com%2Fcluster%3D{cluster}"
    )
    return {p["metadata"]["name"]: p for p in get(localkube, path)["items"]}


def pod_ready(pod: dict[str, Any]) -> bool:
    conditions = {c["type"]: c["status"] for c in pod.get("status", {}).get("conditions") or []}
    return pod["status"].get("phase") == "Running" and conditions.get("Ready") == "True"


def test_one_dc_reaches_the_ready_contract(localkube: Localkube, served: Served) -> None:
    body = get(localkube, cluster_path(served.namespace, "one"))
    assert "k8ssandracluster.k8ssandra.io/finalizer" in body["metadata"]["finalizers"]
    cassandra = body["status"]["datacenters"]["dc1"]["cassandra"]
    assert cassandra["datacenterName"] == "dc1"
    [(pod_name, node)] = cassandra["nodeStatuses"].items()
    assert pod_name == "one-dc1-default-sts-0"
    assert node["rack"] == "default"
    assert node["hostID"]
    pod = pods_of(localkube, served.namespace, "one")[pod_name]
    assert pod_ready(pod)
    assert pod["status"]["podIP"] == node["ip"]
    assert node["ip"].startswith("127.0.")
    assert pod["metadata"]["labels"]["cassandra.datastax.com/datacenter"] == "dc1"
    assert pod["metadata"]["annotations"]["localkube.cqltest.dev/stand-in"] == "k8ssandra"
    services = get(localkube, f"/api/v1/namespaces/{served.namespace}/services")["items"]
    names = {s["metadata"]["name"] for s in services}
    assert {"one-dc1-service", "one-dc1-all-pods-service"} <= names
    secret = get(localkube, f"/api/v1/namespaces/{served.namespace}/secrets/one-superuser")
    assert set(secret["data"]) == {"username", "password"}
    printed = localkube.kubectl("get", "k8c", "-n", served.namespace, "one").stdout
    assert "None" in printed  # the Error printer column


def test_two_dcs_with_authentication_reach_the_ready_contract(
    localkube: Localkube, served: Served
) -> None:
    body = get(localkube, cluster_path(served.namespace, "two"))
    assert set(body["status"]["datacenters"]) == {"dc1", "dc2"}
    pods = pods_of(localkube, served.namespace, "two")
    assert set(pods) == {"two-dc1-default-sts-0", "two-dc2-default-sts-0"}
    assert all(pod_ready(p) for p in pods.values())
    for dc in ("dc1", "dc2"):
        assert body["status"]["datacenters"][dc]["cassandra"]["superUserUpserted"]


def test_a_pod_queries_through_the_dc_service_with_the_superuser_secret(
    localkube: Localkube, served: Served
) -> None:
    script = (
        "import os\n"
        "from cassandra.auth import PlainTextAuthProvider\n"
        "from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile\n"
        "from cassandra.policies import DCAwareRoundRobinPolicy\n"
        "auth = PlainTextAuthProvider(os.environ['CQL_USER'], os.environ['CQL_PASSWORD'])\n"
        "profile = ExecutionProfile(load_balancing_policy=DCAwareRoundRobinPolicy('dc2'))\n"
        "cluster = Cluster(['two-dc2-service'], auth_provider=auth,\n"
        "    execution_profiles={EXEC_PROFILE_DEFAULT: profile})\n"
        "session = cluster.connect()\n"
        "row = session.execute('SELECT data_center, release_version FROM system.local').one()\n"
        "print(row.data_center, row.release_version, os.environ['CQL_USER'])\n"
        "cluster.shutdown()\n"
    )
    env = [
        {"name": name, "valueFrom": {"secretKeyRef": {"name": "two-superuser", "key": key}}}
        for name, key in (("CQL_USER", "username"), ("CQL_PASSWORD", "password"))
    ]
    manifest = job("cql", ["python3", "-c", script])
    manifest["spec"]["template"]["spec"]["containers"][0]["env"] = env
    apply(localkube, served.namespace, manifest)
    localkube.kubectl(
        "wait", "-n", served.namespace, "--for=condition=complete", "job/cql", "--timeout=90s",
        check=False,
    )  # fmt: skip
    output = logs(localkube, served.namespace, "job/cql")
    assert output == "dc2 5.0.9 two-superuser\n", output


def test_deleting_a_node_pod_restarts_the_node(localkube: Localkube, served: Served) -> None:
    name = "two-dc1-default-sts-0"
    before = pods_of(localkube, served.namespace, "two")[name]
    cluster = LocalCluster.load(local_name(served.namespace, "two"), localkube.root / "cassandra")
    marker = str(cluster.node_files(before["status"]["podIP"]).conf_dir)
    pid = nodes.find_pid(marker)
    assert pid is not None
    localkube.kubectl("delete", "pod", "-n", served.namespace, name, "--wait=false")

    def restarted() -> dict[str, Any] | None:
        pod = pods_of(localkube, served.namespace, "two").get(name)
        new = pod and pod["metadata"]["uid"] != before["metadata"]["uid"] and pod_ready(pod)
        return pod if new else None

    after = wait_for("the node Pod back and Ready", restarted, timeout=180)
    assert after["status"]["podIP"] == before["status"]["podIP"]
    assert after["status"]["containerStatuses"][0]["restartCount"] == 0  # a new Pod
    new_pid = nodes.find_pid(marker)
    assert new_pid is not None
    assert new_pid != pid


def test_a_misspelled_field_is_rejected_at_apply(localkube: Localkube, served: Served) -> None:
    manifest = k8ssandra_cluster("typo", ["dc1"], auth=False)
    manifest["spec"]["cassandra"]["datacenters"][0]["sise"] = 1
    result = localkube.kubectl(
        "apply", "-n", served.namespace, "-f", "-", input=json.dumps(manifest),
        check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert 'unknown field "spec.cassandra.datacenters[0].sise"' in result.stderr


def test_deleting_the_cluster_leaves_no_cassandra_process(
    localkube: Localkube, served: Served
) -> None:
    directory = localkube.root / "cassandra" / local_name(served.namespace, "one")
    assert directory.is_dir()
    localkube.kubectl("delete", "k8c", "-n", served.namespace, "one", "--timeout=60s")
    status, _ = localkube.request("GET", cluster_path(served.namespace, "one"))
    assert status == 404
    assert not directory.exists()
    assert nodes.find_pid(str(directory)) is None
    assert not pods_of(localkube, served.namespace, "one")

"""K8ssandraClusters served by the stand-in with real local Cassandra, through a real localkube.

Two clusters are applied once for the module, together (1 DC of 1 node; 2 DCs of 1 node each with
authentication), and shared by the tests; the test that deletes a cluster runs last. A third,
with client and internode TLS from store Secrets as cqltest's operator writes them, is started
by its own test.
"""

from __future__ import annotations

import base64
import json
import ssl
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from agentkit import apply, get, job, job_condition, logs, wait_for
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster, NoHostAvailable
from cqltest.local import LocalCluster, certs, nodes
from cqltest.localkube.instance import Localkube
from cqltest.localkube.k8ssandra.status import cluster_ready
from cqltest.localkube.k8ssandra.translate import local_name
from cqltest.render.tls import encrypted_private_pem

pytestmark = [pytest.mark.kube, pytest.mark.cassandra, pytest.mark.timeout(600)]

READY_TIMEOUT = 300.0
JOB_DONE = ("Complete", "Failed")
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
            if name not in seconds and cluster_ready(get(localkube, cluster_path(namespace, name))):
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
        # the real namespace controller deletes the clusters; the stand-in must let it finish
        localkube.kubectl("delete", "namespace", namespace, "--timeout=120s")
        assert not list((localkube.root / "cassandra").glob(f"{namespace}_*"))


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
    assert "Startup complete" in logs(localkube, served.namespace, pod_name)  # the node's log
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
    wait_for(
        "the Job finished",
        lambda: any(job_condition(localkube, served.namespace, "cql", c) for c in JOB_DONE),
        timeout=180,  # generous: a loaded machine imports the driver slowly
    )
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


def test_spec_changes_are_observed_or_refused(localkube: Localkube, served: Served) -> None:
    def patch(change: dict[str, Any]) -> None:
        localkube.kubectl(
            "patch", "k8c", "one", "-n", served.namespace, "--type=merge", "-p",
            json.dumps({"spec": {"cassandra": change}}),
        )  # fmt: skip

    def body() -> dict[str, Any]:
        return dict(get(localkube, cluster_path(served.namespace, "one")))

    patch({"mgmtAPIHeap": "64Mi"})  # nothing a local node uses: observed, still ready
    wait_for("generation 2 observed", lambda: cluster_ready(body()), timeout=30)
    patch({"datacenters": [{"metadata": {"name": "dc1"}, "size": 2}]})
    wait_for("the refusal", lambda: "not supported" in body()["status"]["error"], timeout=30)
    patch({"datacenters": [{"metadata": {"name": "dc1"}, "size": 1}]})
    wait_for("ready again", lambda: cluster_ready(body()), timeout=30)


def test_a_cluster_it_cannot_serve_reports_status_error(
    localkube: Localkube, served: Served
) -> None:
    manifest = k8ssandra_cluster("old", ["dc1"], auth=False)
    manifest["spec"]["cassandra"]["serverVersion"] = "4.1.8"
    apply(localkube, served.namespace, manifest)

    def error() -> str | None:
        return (get(localkube, cluster_path(served.namespace, "old")).get("status") or {}).get(
            "error"
        )

    message = wait_for("status.error", error, timeout=30)
    assert message.startswith("serverVersion '4.1.8': the local stand-in runs")
    printed = localkube.kubectl("get", "k8c", "-n", served.namespace, "old").stdout
    assert "5.0.x only" in printed


def _store_secret(name: str, ca: certs.CertifiedKey, password: str) -> dict[str, Any]:
    """An encryption-store Secret as cqltest's operator writes it (render.tls): PEM, the key
    encrypted with the keystore password."""
    leaf = certs.issue(ca, certs.subject(name))
    keystore = encrypted_private_pem(leaf[1], password) + certs.certificate_pem(leaf[0])
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "stringData": {
            "keystore": (keystore + certs.certificate_pem(ca[0])).decode(),
            "truststore": certs.certificate_pem(ca[0]).decode(),
            "keystore-password": password,
            "truststore-password": "",
        },
    }


def test_client_and_internode_tls_from_the_store_secrets(
    localkube: Localkube, served: Served, tmp_path: Path
) -> None:
    ca = certs.new_ca(certs.subject("k8c test CA"))
    manifest = k8ssandra_cluster("tls", ["dc1"], auth=True)
    cassandra = manifest["spec"]["cassandra"]
    cassandra["config"]["cassandraYaml"] = {
        "client_encryption_options": {"enabled": True},
        "server_encryption_options": {"internode_encryption": "all"},
    }
    for field, secret in (
        ("clientEncryptionStores", "tls-client-stores"),
        ("serverEncryptionStores", "tls-internode-stores"),
    ):
        cassandra[field] = {
            "keystoreSecretRef": {"name": secret},
            "truststoreSecretRef": {"name": secret},
        }
    apply(
        localkube,
        served.namespace,
        _store_secret("tls-client-stores", ca, "client-pw"),
        _store_secret("tls-internode-stores", ca, "internode-pw"),
        manifest,
    )

    def ready_body() -> dict[str, Any] | None:
        body: dict[str, Any] = get(localkube, cluster_path(served.namespace, "tls"))
        return body if cluster_ready(body) else None

    body = wait_for("the TLS cluster ready", ready_body, timeout=READY_TIMEOUT)
    [node] = body["status"]["datacenters"]["dc1"]["cassandra"]["nodeStatuses"].values()
    secret = get(localkube, f"/api/v1/namespaces/{served.namespace}/secrets/tls-superuser")
    username, password = (
        base64.b64decode(secret["data"][k]).decode() for k in ("username", "password")
    )
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(certs.certificate_pem(ca[0]))
    context = ssl.create_default_context(cafile=str(ca_file))
    context.check_hostname = False  # the store's certificate names no node, as k8ssandra's tests
    auth = PlainTextAuthProvider(username, password)
    cluster = Cluster([node["ip"]], auth_provider=auth, ssl_context=context, connect_timeout=10)
    try:
        row = cluster.connect().execute("SELECT cluster_name FROM system.local").one()
        assert row.cluster_name == "tls"
    finally:
        cluster.shutdown()
    plain = Cluster([node["ip"]], auth_provider=auth, connect_timeout=5)
    try:
        with pytest.raises(NoHostAvailable):
            plain.connect()
    finally:
        plain.shutdown()


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

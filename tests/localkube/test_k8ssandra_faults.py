"""Operator-mode faults made real by the K8ssandra stand-in, through the session's localkube.

What the cqltest operator does to inject faults on Kubernetes (delete cass-operator-named node
Pods, create a NetworkPolicy pair), done here with kubectl against one 2-DC cluster (one node
per DC) shared by the tests, in order: the Pods carry the labels the operator selects by; a
forced Pod deletion kills the node (no drain) and a new Pod comes back Ready, and the node's new
process is cut again by the policy in force; the pair partitions the DCs (each side's failure
detector convicts the other: EACH_QUORUM is Unavailable) and deleting it heals them; deleting
the cluster under a policy leaves no nftables table or cgroup behind.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from agentkit import apply, get, wait_for
from cassandra import ConsistencyLevel, Unavailable
from cassandra.cluster import NoHostAvailable, Session
from cassandra.query import SimpleStatement
from cqltest.local import LocalCluster, netfaults
from cqltest.localkube.instance import Localkube
from cqltest.localkube.k8ssandra.status import cluster_ready
from cqltest.localkube.k8ssandra.translate import local_name
from test_k8ssandra import cluster_path, k8ssandra_cluster, pod_ready, pods_of

pytestmark = [pytest.mark.kube, pytest.mark.cassandra, pytest.mark.timeout(400)]

NAME = "cut"
RUN = "faults-run"
DC = "cassandra.datastax.com/datacenter"
POD_NAME = "statefulset.kubernetes.io/pod-name"
CONVICT_WITHIN = 90.0
"""A failure detector convicts an unreachable peer in ~20 s here; a loaded machine is slower."""


@dataclass
class Served:
    namespace: str
    cluster: LocalCluster
    sessions: dict[str, Session]  #: a session pinned to each DC's node


@pytest.fixture(scope="module")
def served(localkube: Localkube) -> Iterator[Served]:
    namespace = f"k8c-faults-{uuid.uuid4().hex[:6]}"
    localkube.kubectl("create", "namespace", namespace)
    manifest = k8ssandra_cluster(NAME, ["dc1", "dc2"], auth=False)
    manifest["spec"]["cassandra"]["metadata"] = {"commonLabels": {"cqltest.dev/testrun": RUN}}
    apply(localkube, namespace, manifest)
    wait_for(
        "the cluster ready",
        lambda: cluster_ready(get(localkube, cluster_path(namespace, NAME))),
        timeout=300,
    )
    cluster = LocalCluster.load(local_name(namespace, NAME), localkube.root / "cassandra")
    drivers, sessions = [], {}
    for node in cluster.state.nodes:
        driver, session = cluster.connect(node.plan.address, None, timeout=10)
        drivers.append(driver)
        sessions[node.plan.datacenter] = session
    sessions["dc1"].execute(
        "CREATE KEYSPACE IF NOT EXISTS proof WITH replication = "
        "{'class': 'NetworkTopologyStrategy', 'dc1': 1, 'dc2': 1}",
        timeout=60,
    )
    sessions["dc1"].execute("CREATE TABLE IF NOT EXISTS proof.t (k int PRIMARY KEY)", timeout=60)
    try:
        yield Served(namespace, cluster, sessions)
    finally:
        for driver in drivers:
            driver.shutdown()
        localkube.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def policy(name: str, dc: str, other: str) -> dict[str, Any]:
    """The operator's half of a partition: ``dc``'s Pods take internode traffic only from Pods
    outside ``other``."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": name,
            "labels": {"cqltest.dev/testrun": RUN, "cqltest.dev/fault": "split"},
        },
        "spec": {
            "podSelector": {"matchLabels": {"cassandra.datastax.com/cluster": NAME, DC: dc}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {},
                            "podSelector": {
                                "matchExpressions": [
                                    {"key": DC, "operator": "NotIn", "values": [other]}
                                ]
                            },
                        }
                    ]
                }
            ],
        },
    }


def each_quorum(session: Session, key: int) -> str:
    """ "ok", or why an EACH_QUORUM write failed ("Unavailable: ..." once replicas are DOWN)."""
    statement = SimpleStatement(
        "INSERT INTO proof.t (k) VALUES (%s)", consistency_level=ConsistencyLevel.EACH_QUORUM
    )
    try:
        session.execute(statement, (key,), timeout=10)
    except Unavailable as exc:
        return f"Unavailable: {exc}"
    except NoHostAvailable as exc:  # the retry policy moved on: the cause is inside
        causes = [e for e in exc.errors.values() if isinstance(e, Unavailable)]
        return f"Unavailable: {causes[0]}" if causes else f"failed: {exc}"
    except Exception as exc:  # a timeout: not convicted yet
        return f"failed: {type(exc).__name__}"
    return "ok"


def events(localkube: Localkube, namespace: str, reason: str) -> list[str]:
    listing = get(localkube, f"/api/v1/namespaces/{namespace}/events")
    return [e["message"] for e in listing["items"] if e.get("reason") == reason]


def cgroup_of(pid: int) -> str:
    return Path(f"/proc/{pid}/cgroup").read_text().strip()


def test_node_pods_carry_what_the_operator_selects_by(localkube: Localkube, served: Served) -> None:
    pods = pods_of(localkube, served.namespace, NAME)
    assert sorted(pods) == ["cut-dc1-default-sts-0", "cut-dc2-default-sts-0"]
    for name, pod in pods.items():
        labels = pod["metadata"]["labels"]
        assert labels[POD_NAME] == name
        assert labels["app.kubernetes.io/managed-by"] == "cass-operator"
        assert labels["cqltest.dev/testrun"] == RUN
        assert labels[DC] == name.split("-")[1]


def test_a_forced_pod_deletion_kills_the_node_and_a_new_pod_comes_back_ready(
    localkube: Localkube, served: Served
) -> None:
    # one policy in force (dc2 refuses dc1): the restarted node's new process must be cut too
    apply(localkube, served.namespace, policy("dc2-refuses-dc1", "dc2", "dc1"))
    subnet = served.cluster.state.subnet
    wait_for("the cut", lambda: netfaults.table_name(subnet) in netfaults.tables(), timeout=30)
    name = "cut-dc1-default-sts-0"
    node = served.cluster.state.nodes[0]
    assert served.cluster.is_running(node)
    old_pid = node.pid
    assert old_pid is not None
    assert f"/cqltest/{netfaults.table_name(subnet)}/" in cgroup_of(old_pid)
    before = pods_of(localkube, served.namespace, NAME)[name]
    deleted_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    localkube.kubectl("delete", "pod", "-n", served.namespace, name, "--grace-period=0", "--force")

    def back() -> dict[str, Any] | None:
        pod = pods_of(localkube, served.namespace, NAME).get(name)
        new = pod and pod["metadata"]["uid"] != before["metadata"]["uid"] and pod_ready(pod)
        return pod if new else None

    after = wait_for("a new node Pod, Ready", back, timeout=180)
    assert after["metadata"]["creationTimestamp"] >= deleted_at
    assert after["status"]["containerStatuses"][0]["restartCount"] == 0
    killed = events(localkube, served.namespace, "NodeKilled")
    assert any(name in m and "SIGKILL" in m for m in killed), killed
    assert not events(localkube, served.namespace, "NodeStopped")  # never drained
    assert served.cluster.is_running(node)
    new_pid = node.pid
    assert new_pid is not None
    assert new_pid != old_pid
    wait_for(
        "the new process placed in its cgroup, under the rules",
        lambda: f"/cqltest/{netfaults.table_name(subnet)}/" in cgroup_of(new_pid),
        timeout=30,
    )
    localkube.kubectl("delete", "networkpolicy", "-n", served.namespace, "dc2-refuses-dc1")
    wait_for("the cut healed", lambda: netfaults.table_name(subnet) not in netfaults.tables())


def test_a_networkpolicy_pair_partitions_the_dcs_until_deleted(
    localkube: Localkube, served: Served
) -> None:
    subnet = served.cluster.state.subnet
    one, two = served.sessions["dc1"], served.sessions["dc2"]
    # whole to begin with (the previous test's node restart is over)
    wait_for("EACH_QUORUM through both DCs", lambda: each_quorum(one, 1) == each_quorum(two, 2)
             == "ok", timeout=120)  # fmt: skip
    apply(
        localkube,
        served.namespace,
        policy("dc1-from-dc2", "dc1", "dc2"),
        policy("dc2-from-dc1", "dc2", "dc1"),
    )
    wait_for("the rules", lambda: netfaults.table_name(subnet) in netfaults.tables(), timeout=30)
    deadline = time.monotonic() + CONVICT_WITHIN
    seen = {"dc1": "", "dc2": ""}
    while time.monotonic() < deadline and not all(
        s.startswith("Unavailable") for s in seen.values()
    ):
        for dc, session in (("dc1", one), ("dc2", two)):
            if not seen[dc].startswith("Unavailable"):
                seen[dc] = each_quorum(session, 3)
        time.sleep(1.0)
    # each side's failure detector convicted the other: DOWN in gossip, both ways
    for dc, other in (("dc1", "dc2"), ("dc2", "dc1")):
        assert seen[dc].startswith("Unavailable"), seen
        assert other in seen[dc], seen
    said = events(localkube, served.namespace, "NetworkPolicy")
    assert any("cut-dc1-default-sts-0" in m and "cut-dc2-default-sts-0" in m for m in said)

    localkube.kubectl(
        "delete", "networkpolicy", "-n", served.namespace, "dc1-from-dc2", "dc2-from-dc1"
    )
    wait_for("the rules gone", lambda: netfaults.table_name(subnet) not in netfaults.tables())
    healed = wait_for(
        "EACH_QUORUM through both DCs after the heal",
        lambda: each_quorum(one, 4) == each_quorum(two, 5) == "ok",
        timeout=120,
    )
    assert healed


def test_deleting_the_cluster_under_a_policy_leaves_no_rule(
    localkube: Localkube, served: Served
) -> None:
    subnet = served.cluster.state.subnet
    apply(localkube, served.namespace, policy("dc2-refuses-dc1", "dc2", "dc1"))
    wait_for("the cut", lambda: netfaults.table_name(subnet) in netfaults.tables(), timeout=30)
    groups = netfaults.cgroup2_root() / "cqltest" / netfaults.table_name(subnet)
    assert groups.is_dir()
    localkube.kubectl("delete", "k8c", "-n", served.namespace, NAME, "--timeout=60s")
    assert not served.cluster.directory.exists()
    assert netfaults.table_name(subnet) not in netfaults.tables()
    assert not groups.exists()

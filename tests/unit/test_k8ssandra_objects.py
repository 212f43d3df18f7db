"""The stand-in's published objects and status: cass-operator's names, k8ssandra's status."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from cqltest.local.topology import plan_nodes
from cqltest.localkube.k8ssandra import crd, objects, status
from cqltest.localkube.k8ssandra.translate import translate

BODY: dict[str, Any] = {
    "metadata": {"name": "demo", "namespace": "ns", "uid": "u-1", "generation": 2},
    "spec": {
        "cassandra": {
            "serverVersion": "5.0.9",
            "storageConfig": {"x": 1},
            "datacenters": [
                {"metadata": {"name": "dc1"}, "size": 3, "racks": [{"name": "r1"}, {"name": "r2"}]},
                {"metadata": {"name": "dc2"}, "size": 1},
            ],
        }
    },
}
T = translate(BODY)
OWNER = objects.owner_reference(BODY)


def test_pods_follow_statefulset_naming_and_the_local_node_order() -> None:
    pods = objects.node_pods(T)
    assert [p.name for p in pods] == [
        "demo-dc1-r1-sts-0",
        "demo-dc1-r2-sts-0",
        "demo-dc1-r1-sts-1",
        "demo-dc2-default-sts-0",
    ]
    plans = plan_nodes(T.cluster_spec(("u", "p")), 7)
    for pod, plan in zip(pods, plans, strict=True):
        assert (pod.datacenter.cassandra_name, pod.rack, pod.seed) == (
            plan.datacenter,
            plan.rack,
            plan.seed,
        )


def test_pod_manifest_is_the_stand_ins_and_owned() -> None:
    pod = objects.pod(T, objects.node_pods(T)[1], "localkube", OWNER)
    meta = pod["metadata"]
    assert meta["name"] == "demo-dc1-r2-sts-0"
    assert meta["labels"] == {
        "cassandra.datastax.com/cluster": "demo",
        "cassandra.datastax.com/datacenter": "dc1",
        "cassandra.datastax.com/rack": "r2",
        "statefulset.kubernetes.io/pod-name": "demo-dc1-r2-sts-0",
        "app.kubernetes.io/managed-by": "cass-operator",
    }
    assert meta["annotations"] == {"localkube.cqltest.dev/stand-in": "k8ssandra"}
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "k8ssandra.io/v1alpha1",
            "kind": "K8ssandraCluster",
            "name": "demo",
            "uid": "u-1",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert pod["spec"]["nodeName"] == "localkube"
    seed = objects.pod(T, objects.node_pods(T)[0], "localkube", OWNER, "/n/logs/system.log")
    assert seed["metadata"]["labels"]["cassandra.datastax.com/seed-node"] == "true"
    assert seed["metadata"]["annotations"]["localkube.cqltest.dev/log-file"] == "/n/logs/system.log"


def test_pods_carry_the_common_labels_the_dcs_override_and_cass_operators_win() -> None:
    body = copy.deepcopy(BODY)
    cassandra = body["spec"]["cassandra"]
    cassandra["metadata"] = {
        "commonLabels": {
            "cqltest.dev/testrun": "nightly",
            "team": "a",
            "app.kubernetes.io/managed-by": "someone",
        }
    }
    cassandra["datacenters"][1]["metadata"]["commonLabels"] = {"team": "b"}
    translation = translate(body)
    assert translation == T  # labels alone never ask for another local cluster
    labels = [objects.pod(translation, p, "n", OWNER)["metadata"]["labels"] for p in
              objects.node_pods(translation)]  # fmt: skip
    assert [(pod["cqltest.dev/testrun"], pod["team"]) for pod in labels] == [
        ("nightly", "a"),
        ("nightly", "a"),
        ("nightly", "a"),
        ("nightly", "b"),
    ]
    assert {pod["app.kubernetes.io/managed-by"] for pod in labels} == {"cass-operator"}
    assert labels[3]["cassandra.datastax.com/datacenter"] == "dc2"


@pytest.mark.parametrize("ready", [True, False])
def test_pod_status(ready: bool) -> None:
    doc = objects.pod_status("127.0.5.2", ready, "t0", restarts=1, changed_at="t1")
    assert doc["phase"] == "Running"
    assert doc["podIP"] == "127.0.5.2"
    conditions = {c["type"]: c for c in doc["conditions"]}
    assert conditions["Ready"]["status"] == ("True" if ready else "False")
    assert conditions["Ready"]["lastTransitionTime"] == "t1"
    assert conditions["PodScheduled"]["lastTransitionTime"] == "t0"
    assert doc["containerStatuses"][0]["restartCount"] == 1


def test_services_select_the_dcs_pods() -> None:
    dc = T.datacenters[0]
    service, all_pods = objects.services(T, dc, OWNER)
    assert service["metadata"]["name"] == "demo-dc1-service"
    assert all_pods["metadata"]["name"] == "demo-dc1-all-pods-service"
    for svc in (service, all_pods):
        assert svc["spec"]["clusterIP"] == "None"
        assert svc["spec"]["selector"] == {
            "cassandra.datastax.com/cluster": "demo",
            "cassandra.datastax.com/datacenter": "dc1",
        }
    assert all_pods["spec"]["publishNotReadyAddresses"] is True
    native = {"name": "native", "port": 9042, "protocol": "TCP", "targetPort": 9042}
    assert native in service["spec"]["ports"]
    assert {p["name"] for p in service["spec"]["ports"]} == {
        "native",
        "tls-native",
        "mgmt-api",
        "prometheus",
        "metrics",
    }


def test_superuser_secret_username_is_its_name() -> None:
    secret = objects.superuser_secret(T, OWNER, "pw")
    assert secret["metadata"]["name"] == "demo-superuser"
    assert secret["stringData"] == {"username": "demo-superuser", "password": "pw"}


def test_status_starting_then_ready_then_latched() -> None:
    dc = T.datacenters[1]
    nodes = [status.NodeStatus("demo-dc2-default-sts-0", "127.0.5.4", "default", "h-1")]
    starting = status.datacenter_status(dc, False, [], 2, "t0")
    cluster = status.cluster_status({"dc2": starting}, 2, "t0")
    assert starting["cassandra"]["cassandraOperatorProgress"] == "Updating"
    assert cluster["conditions"] == []
    assert cluster["error"] == "None"
    assert "observedGeneration" not in cluster
    ready = status.datacenter_status(dc, True, nodes, 2, "t1", starting)
    cassandra = ready["cassandra"]
    conditions = {c["type"]: c for c in cassandra["conditions"]}
    assert cassandra["cassandraOperatorProgress"] == "Ready"
    assert conditions["Ready"]["status"] == "True"
    assert conditions["Ready"]["lastTransitionTime"] == "t1"
    assert conditions["Healthy"]["lastTransitionTime"] == "t0"  # unchanged value keeps its time
    assert cassandra["nodeStatuses"] == {
        "demo-dc2-default-sts-0": {"hostID": "h-1", "ip": "127.0.5.4", "rack": "default"}
    }
    assert cassandra["usersUpserted"] == cassandra["superUserUpserted"] == "t1"
    assert cassandra["datacenterName"] == "dc2"
    done = status.cluster_status({"dc2": ready}, 2, "t1", cluster)
    assert done["conditions"][0]["type"] == "CassandraInitialized"
    assert done["conditions"][0]["status"] == "True"
    assert done["observedGeneration"] == 2
    later = status.datacenter_status(dc, False, nodes, 2, "t2", ready)
    assert later["cassandra"]["cassandraOperatorProgress"] == "Ready"
    again = status.cluster_status({"dc2": later}, 2, "t2", done)
    assert again["conditions"][0]["lastTransitionTime"] == "t1"


def test_error_status_keeps_the_rest() -> None:
    doc = status.error_status("node died", 3, {"datacenters": {"a": 1}, "error": "None"})
    assert doc == {"datacenters": {"a": 1}, "error": "node died", "observedGeneration": 3}


def test_crd_manifest() -> None:
    manifest = crd.manifest()
    assert manifest["metadata"]["name"] == "k8ssandraclusters.k8ssandra.io"
    spec = manifest["spec"]
    assert spec["scope"] == "Namespaced"
    assert spec["names"]["shortNames"] == ["k8c", "k8cs"]
    (version,) = spec["versions"]
    assert version["name"] == "v1alpha1"
    assert version["subresources"] == {"status": {}}
    assert version["additionalPrinterColumns"][0]["jsonPath"] == ".status.error"
    cassandra = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"][
        "cassandra"
    ]
    assert "x-kubernetes-preserve-unknown-fields" not in cassandra
    dc = cassandra["properties"]["datacenters"]["items"]
    assert dc["required"] == ["metadata", "size"]
    assert dc["properties"]["size"]["minimum"] == 1
    config = cassandra["properties"]["config"]["properties"]
    assert config["cassandraYaml"]["x-kubernetes-preserve-unknown-fields"] is True
    assert "x-kubernetes-preserve-unknown-fields" not in config["jvmOptions"]


def test_cluster_ready_is_the_contracts_predicate() -> None:
    dc = T.datacenters[1]
    nodes = [status.NodeStatus("demo-dc2-default-sts-0", "127.0.5.4", "default")]
    body: dict[str, Any] = {
        "metadata": {"generation": 2},
        "spec": {"cassandra": {"datacenters": [{"metadata": {"name": "dc2"}, "size": 1}]}},
    }
    starting = status.datacenter_status(dc, False, [], 2, "t0")
    body["status"] = status.cluster_status({"dc2": starting}, 2, "t0")
    assert not status.cluster_ready(body)
    ready = status.datacenter_status(dc, True, nodes, 2, "t1", starting)
    body["status"] = status.cluster_status({"dc2": ready}, 2, "t1", body["status"])
    assert status.cluster_ready(body)
    body["metadata"]["generation"] = 3  # a spec change not yet observed
    assert not status.cluster_ready(body)
    body["metadata"]["generation"] = 2
    assert not status.cluster_ready({**body, "status": status.error_status("x", 2, body["status"])})

"""The Kubernetes objects the stand-in publishes for a K8ssandraCluster, named as cass-operator
names them, so test pods and the cqltest operator find them where they would in a real cluster.

Pure builders (the controller creates, patches and deletes what they return):

* one Pod per Cassandra node, ``<cluster>-<dc>-<rack>-sts-<n>`` (StatefulSet naming: nodes are
  dealt round-robin over the racks, ``n`` counts within a rack), labelled like cass-operator's
  and annotated as the stand-in's, bound to the localkube node so the node agent (which skips
  that annotation) leaves it to us; its status says Running at the node's loopback address;
* per datacenter the headless Services ``<cluster>-<dc>-service`` and
  ``<cluster>-<dc>-all-pods-service``, selecting the DC's Pods as cass-operator's do. No
  Endpoints or EndpointSlices: the apiserver refuses loopback addresses in them, so the node
  agent resolves a selector Service to its first ready Pod's podIP instead (see
  ``cqltest.localkube.agent.hosts``), which is where the node answers;
* the generated superuser Secret ``<cluster>-superuser`` (username = the Secret's name).

Everything carries an owner reference to the K8ssandraCluster, so the garbage collector removes
what the controller's own cleanup misses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cqltest.localkube.k8ssandra import crd
from cqltest.localkube.k8ssandra.translate import DatacenterPlan, Translation

FINALIZER = "k8ssandracluster.k8ssandra.io/finalizer"
STAND_IN_ANNOTATION = "localkube.cqltest.dev/stand-in"
STAND_IN = "k8ssandra"
LOG_FILE_ANNOTATION = "localkube.cqltest.dev/log-file"
LABEL_CLUSTER = "cassandra.datastax.com/cluster"
LABEL_DATACENTER = "cassandra.datastax.com/datacenter"
LABEL_RACK = "cassandra.datastax.com/rack"
LABEL_SEED = "cassandra.datastax.com/seed-node"
LABEL_POD_NAME = "statefulset.kubernetes.io/pod-name"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY = "cass-operator"
CONTAINER = "cassandra"
HOST_IP = "127.0.0.1"

#: cass-operator's ports on the two DC services (contract §3.1); only native (and internode,
#: unlisted) are served by a local node.
Ports = tuple[tuple[str, int], ...]
ALL_PODS_PORTS: Ports = (
    ("native", 9042),
    ("mgmt-api", 8080),
    ("prometheus", 9103),
    ("metrics", 9000),
)
DC_SERVICE_PORTS: Ports = (*ALL_PODS_PORTS[:1], ("tls-native", 9142), *ALL_PODS_PORTS[1:])


@dataclass(frozen=True)
class NodePod:
    """The Pod standing for the local cluster's node number ``index`` (its plan order)."""

    name: str
    index: int
    datacenter: DatacenterPlan
    rack: str
    seed: bool


def node_pods(translation: Translation) -> list[NodePod]:
    """Every node's Pod in the local cluster's node order (DCs in spec order, racks dealt
    round-robin, as ``cqltest.local.topology.plan_nodes`` lays nodes out)."""
    pods: list[NodePod] = []
    for dc in translation.datacenters:
        for i in range(dc.size):
            rack = dc.racks[i % len(dc.racks)]
            ordinal = i // len(dc.racks)
            name = f"{translation.cluster_label}-{dc.label}-{rack}-sts-{ordinal}"
            pods.append(NodePod(name, len(pods), dc, rack, seed=i == 0))
    return pods


def service_names(translation: Translation, dc: DatacenterPlan) -> tuple[str, str]:
    prefix = f"{translation.cluster_label}-{dc.label}"
    return f"{prefix}-service", f"{prefix}-all-pods-service"


def owner_reference(body: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": f"{crd.GROUP}/{crd.VERSION}",
        "kind": crd.KIND,
        "name": body["metadata"]["name"],
        "uid": body["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _metadata(
    name: str, translation: Translation, owner: Mapping[str, Any], labels: Mapping[str, str]
) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": translation.namespace,
        "labels": {LABEL_CLUSTER: translation.cluster_label, **labels},
        "ownerReferences": [dict(owner)],
    }


def pod_labels(translation: Translation, node: NodePod) -> dict[str, str]:
    """The node Pod's labels: the K8ssandraCluster's ``commonLabels`` (k8ssandra hands them to
    the CassandraDatacenter as additionalLabels), then cass-operator's own, which win."""
    labels = dict(node.datacenter.common_labels)
    labels.update(
        {
            LABEL_CLUSTER: translation.cluster_label,
            LABEL_DATACENTER: node.datacenter.label,
            LABEL_RACK: node.rack,
            LABEL_POD_NAME: node.name,
            LABEL_MANAGED_BY: MANAGED_BY,
        }
    )
    if node.seed:
        labels[LABEL_SEED] = "true"
    return labels


def pod(
    translation: Translation,
    node: NodePod,
    node_name: str,
    owner: Mapping[str, Any],
    log_file: str | None = None,
) -> dict[str, Any]:
    """The node's Pod; ``log_file`` (the node's system.log) is what the node agent serves as
    the Pod's ``kubectl logs``."""
    metadata = _metadata(node.name, translation, owner, pod_labels(translation, node))
    metadata["annotations"] = {STAND_IN_ANNOTATION: STAND_IN}
    if log_file is not None:
        metadata["annotations"][LOG_FILE_ANNOTATION] = log_file
    ports = [
        {"name": "native", "containerPort": 9042},
        {"name": "internode", "containerPort": 7000},
    ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {
            "nodeName": node_name,
            "hostname": node.name,
            "automountServiceAccountToken": False,
            "containers": [
                {
                    # never pulled or run: the node is a local Cassandra process
                    "name": CONTAINER,
                    "image": f"localkube.cqltest.dev/cassandra:{translation.version}",
                    "ports": ports,
                }
            ],
        },
    }


def pod_status(
    address: str, ready: bool, started_at: str, restarts: int = 0, changed_at: str | None = None
) -> dict[str, Any]:
    """The status a kubelet would write for the node's container: Running at ``address``,
    Ready once the node answers CQL (``changed_at``: when readiness last changed)."""
    readiness = "True" if ready else "False"
    since = {"ContainersReady": changed_at or started_at, "Ready": changed_at or started_at}
    return {
        "phase": "Running",
        "hostIP": HOST_IP,
        "hostIPs": [{"ip": HOST_IP}],
        "podIP": address,
        "podIPs": [{"ip": address}],
        "startTime": started_at,
        "qosClass": "BestEffort",
        "conditions": [
            {"type": kind, "status": status, "lastTransitionTime": since.get(kind, started_at)}
            for kind, status in (
                ("PodScheduled", "True"),
                ("Initialized", "True"),
                ("ContainersReady", readiness),
                ("Ready", readiness),
            )
        ],
        "containerStatuses": [
            {
                "name": CONTAINER,
                "ready": ready,
                "started": True,
                "restartCount": restarts,
                "image": "localkube.cqltest.dev/cassandra",
                "imageID": "",
                "state": {"running": {"startedAt": started_at}},
            }
        ],
    }


def services(
    translation: Translation, dc: DatacenterPlan, owner: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The DC's two headless Services, selecting its node Pods."""
    result = []
    for name, ports, all_pods in zip(
        service_names(translation, dc),
        (DC_SERVICE_PORTS, ALL_PODS_PORTS),
        (False, True),
        strict=True,
    ):
        spec: dict[str, Any] = {
            "clusterIP": "None",
            "type": "ClusterIP",
            "selector": {LABEL_CLUSTER: translation.cluster_label, LABEL_DATACENTER: dc.label},
            "ports": [{"name": n, "port": p, "protocol": "TCP", "targetPort": p} for n, p in ports],
        }
        if all_pods:
            spec["publishNotReadyAddresses"] = True
        labels = {LABEL_DATACENTER: dc.label}
        result.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": _metadata(name, translation, owner, labels),
                "spec": spec,
            }
        )
    return result


def superuser_secret(
    translation: Translation, owner: Mapping[str, Any], password: str
) -> dict[str, Any]:
    """k8ssandra-operator's generated superuser: the username is the Secret's own name."""
    name = translation.superuser_secret
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": _metadata(name, translation, owner, {}),
        "stringData": {"username": name, "password": password},
    }

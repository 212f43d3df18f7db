"""The stand-in as the CNI plugin that enforces NetworkPolicy, for one cluster's node Pods.

A Partition fault on Kubernetes is a NetworkPolicy pair, which only a CNI that enforces
NetworkPolicy makes real. On localkube the worker of a K8ssandraCluster calls
:meth:`Enforcer.enforce` on each pass: it reads the NetworkPolicies of the cluster's namespace,
asks :mod:`.netpolicy` which node may not reach which, and puts exactly those directed cuts in
one chain of the cluster's nftables table (:func:`cqltest.local.netfaults.cut`, the rules local
mode's partitions use). Nothing is rewritten while the cuts and the nodes' processes stay the
same; a restarted node (a new process, outside its cgroup) or a changed policy rewrites them,
and no policy left removes them. The table is the local cluster's, so destroying the cluster
(K8ssandraCluster deletion, ``localkube down``) or the orphan reaper removes the rules too.
Only internode traffic between node Pods is enforced (see :mod:`.netpolicy`).

A limit: a node Pod deleted while policies cut its node off from a running peer in both
directions (a partition) does not come back Ready until they are lifted. The restart waits, as
``LocalCluster.start_node`` does, until every running peer sees the node, which no peer on the
other side can (cass-operator's readiness probe asks only that the node answer CQL); the
attempt fails after the restart budget and the next pass tries again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from cqltest.errors import CqltestError
from cqltest.local import LocalCluster, netfaults
from cqltest.local.topology import STORAGE_PORT
from cqltest.localkube.agent.api import Api
from cqltest.localkube.k8ssandra import netpolicy, objects
from cqltest.localkube.k8ssandra.publish import Publisher
from cqltest.localkube.k8ssandra.translate import Translation

#: The fault name of the chain holding the cuts (nft chain ``cut_networkpolicy``).
CHAIN = "networkpolicy"
POLICIES = "/apis/networking.k8s.io/v1/namespaces/{}/networkpolicies"

#: What was last put in place: (source pod, its pid, the addresses it may not reach).
Applied = tuple[tuple[str, int, tuple[str, ...]], ...]

log = logging.getLogger(__name__)


class Enforcer:
    """Keeps one cluster's nftables cuts equal to what its namespace's policies say."""

    def __init__(self, api: Api, translation: Translation) -> None:
        self.api = api
        self.translation = translation
        self.applied: Applied | None = None
        self.said = ""  #: the last Event's message (a new Event only when it changes)

    def enforce(self, cluster: LocalCluster) -> str | None:
        """Apply the policies now; a message saying what changed (None when nothing did).

        Raises CqltestError (``nft`` missing, no rights, a policy it cannot read); the next
        call tries again."""
        namespace = self.translation.namespace
        policies = self.api.get(POLICIES.format(namespace)).get("items") or []
        labels: dict[str, Mapping[str, str]] = {}
        if any(_selects_namespaces(p) for p in policies):
            found = self.api.get_or_none(f"/api/v1/namespaces/{namespace}") or {}
            labels[namespace] = (found.get("metadata") or {}).get("labels") or {}
        pods = objects.node_pods(self.translation)
        addresses = {pod.name: cluster.state.nodes[pod.index].plan.address for pod in pods}
        views = [
            netpolicy.NodeView(
                pod.name,
                namespace,
                objects.pod_labels(self.translation, pod),
                addresses[pod.name],
            )
            for pod in pods
        ]
        denied = netpolicy.denied(policies, views, STORAGE_PORT, labels)
        cuts: list[netfaults.Cut] = []
        for pod in pods:
            node = cluster.state.nodes[pod.index]
            # a node not running has no process to place: it is cut once it runs again
            if pod.name not in denied or not cluster.is_running(node) or node.pid is None:
                continue
            member = netfaults.Member(node.plan.name, node.plan.address, node.pid)
            cuts.append(
                netfaults.Cut(member, tuple(sorted(addresses[d] for d in denied[pod.name])))
            )
        wanted = _applied(cuts)
        if wanted == self.applied:
            return None
        self.applied = None  # a failure half-way is retried in full
        if cuts:
            netfaults.cut(cluster.state.subnet, CHAIN, cuts, STORAGE_PORT)
        else:
            netfaults.heal(cluster.state.subnet, CHAIN)
        self.applied = wanted
        if not denied:
            return "no NetworkPolicy limits internode traffic: no rule drops it"
        return _describe(pods, denied, addresses)

    def report(self, cluster: LocalCluster, publisher: Publisher) -> None:
        """:meth:`enforce`, saying what changed in an Event on the K8ssandraCluster; a failure
        (no ``nft``, no rights to it) is a Warning Event, and tried again on the next pass."""
        try:
            said = self.enforce(cluster)
        except (CqltestError, OSError) as exc:  # OSError: /proc or /sys refusing a read
            said, warning = f"NetworkPolicy not enforced: {exc}", True
        else:
            warning = False
        if said is None or said == self.said:
            return
        (log.warning if warning else log.info)("%s: %s", self.translation.local_name, said)
        publisher.event("NetworkPolicy", said, warning=warning)
        self.said = said


def _selects_namespaces(policy: Mapping[str, Any]) -> bool:
    rules = (policy.get("spec") or {}).get("ingress") or []
    return any(
        (peer.get("namespaceSelector") or {}) != {}
        for rule in rules
        for peer in rule.get("from") or []
        if "namespaceSelector" in peer
    )


def _applied(cuts: Sequence[netfaults.Cut]) -> Applied:
    # the pid tells a restarted node (a new process, not in its cgroup yet) apart
    return tuple(sorted((c.source.name, c.source.pid, c.destinations) for c in cuts))


def _describe(
    pods: Sequence[objects.NodePod],
    denied: Mapping[str, frozenset[str]],
    addresses: Mapping[str, str],
) -> str:
    parts = [
        f"{pod.name} ({addresses[pod.name]}) -/-> {', '.join(sorted(denied[pod.name]))}"
        for pod in pods
        if pod.name in denied
    ]
    return "NetworkPolicy enforced, internode traffic dropped: " + "; ".join(parts)

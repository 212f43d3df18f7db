"""Which internode connections between a cluster's node Pods a set of NetworkPolicies forbids.

On Kubernetes a CNI plugin enforces NetworkPolicy; localkube has no pod network, so the
stand-in plays that CNI for the one traffic it can tell apart: Cassandra's internode (storage
port) connections between the node Pods of one K8ssandraCluster. This module is the pure half
(the rules of the API, on Pods and policies as plain data); :mod:`.cni` turns the answer into
nftables rules. The subset of ``networking.k8s.io/v1`` it evaluates:

* a policy applies to a Pod of its namespace when its ``policyTypes`` include ``Ingress``
  (absent ``policyTypes`` means Ingress, as the API defaults it) and its ``podSelector``
  (``matchLabels`` and ``matchExpressions`` with In, NotIn, Exists, DoesNotExist; ``{}`` = all)
  selects the Pod;
* a Pod some policy applies to accepts a connection only when some ``ingress[]`` rule of some
  such policy admits it: a rule without ``from`` (or an empty one) admits every source, else one
  of its peers must — ``podSelector`` (a Pod of the policy's namespace), ``namespaceSelector``
  with or without ``podSelector`` (Pods of the matching namespaces), ``ipBlock`` (the source
  Pod's address in ``cidr`` and in no ``except``) — and, when the rule lists ``ports``, one of
  them must cover the storage port (its number, the Pod's port name ``internode``, or a range up
  to ``endPort``; TCP).

Egress policies are not evaluated (a Pod's outgoing traffic is limited only by its peers'
ingress), and only node Pods are sources or destinations: test pods share the host's network.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cqltest.localkube.errors import LocalkubeError

#: The node Pod's name for the internode port (``objects.pod``'s containerPort name).
PORT_NAME = "internode"
_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


class PolicyError(LocalkubeError):
    """A NetworkPolicy the stand-in cannot evaluate; the message names the field and value."""


@dataclass(frozen=True)
class NodeView:
    """A node Pod as the policies see it: where it lives, its labels, its address."""

    name: str
    namespace: str
    labels: Mapping[str, str]
    address: str


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str], where: str) -> bool:
    """Whether a LabelSelector matches ``labels`` (``{}`` matches everything)."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for index, expression in enumerate(selector.get("matchExpressions") or []):
        key, operator = expression.get("key"), expression.get("operator")
        values = expression.get("values") or []
        if operator not in _OPERATORS:
            raise PolicyError(
                f"{where}.matchExpressions[{index}].operator {operator!r}: must be one of "
                f"{', '.join(_OPERATORS)}"
            )
        present = key in labels
        matched = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }[operator]
        if not matched:
            return False
    return True


def applies_to(policy: Mapping[str, Any], pod: NodeView) -> bool:
    """Whether ``policy`` limits the ingress of ``pod``."""
    metadata, spec = policy.get("metadata") or {}, policy.get("spec") or {}
    if metadata.get("namespace") != pod.namespace:
        return False
    if "Ingress" not in (spec.get("policyTypes") or ["Ingress"]):
        return False
    return selects(spec.get("podSelector"), pod.labels, _where(policy, "spec.podSelector"))


def _where(policy: Mapping[str, Any], field: str) -> str:
    metadata = policy.get("metadata") or {}
    return f"NetworkPolicy {metadata.get('namespace')}/{metadata.get('name')} {field}"


def _ports_admit(ports: Sequence[Mapping[str, Any]] | None, storage_port: int) -> bool:
    if not ports:
        return True
    for port in ports:
        if (port.get("protocol") or "TCP") != "TCP":
            continue
        number, end = port.get("port"), port.get("endPort")
        if number is None or number in (storage_port, PORT_NAME):
            return True
        if isinstance(number, int) and isinstance(end, int) and number <= storage_port <= end:
            return True
    return False


def _peer_admits(
    peer: Mapping[str, Any],
    source: NodeView,
    policy_namespace: str,
    namespace_labels: Mapping[str, Mapping[str, str]],
    where: str,
) -> bool:
    block = peer.get("ipBlock")
    if block is not None:
        address = ipaddress.ip_address(source.address)
        try:
            inside = address in ipaddress.ip_network(block.get("cidr", ""), strict=False)
            excluded = any(
                address in ipaddress.ip_network(cidr, strict=False)
                for cidr in block.get("except") or []
            )
        except ValueError as exc:
            raise PolicyError(f"{where}.ipBlock: {exc}") from None
        return inside and not excluded
    if "namespaceSelector" not in peer and "podSelector" not in peer:
        return False  # the API refuses such a peer; it admits nothing here
    if "namespaceSelector" in peer:
        labels = namespace_labels.get(source.namespace, {})
        if not selects(peer["namespaceSelector"], labels, f"{where}.namespaceSelector"):
            return False
    elif source.namespace != policy_namespace:
        return False
    return selects(peer.get("podSelector"), source.labels, f"{where}.podSelector")


def admits(
    policy: Mapping[str, Any],
    source: NodeView,
    storage_port: int,
    namespace_labels: Mapping[str, Mapping[str, str]],
) -> bool:
    """Whether some ingress rule of ``policy`` admits internode traffic from ``source``."""
    namespace = (policy.get("metadata") or {}).get("namespace") or ""
    for index, rule in enumerate((policy.get("spec") or {}).get("ingress") or []):
        if not _ports_admit(rule.get("ports"), storage_port):
            continue
        peers = rule.get("from") or []
        if not peers:
            return True
        where = _where(policy, f"spec.ingress[{index}].from")
        for number, peer in enumerate(peers):
            if _peer_admits(peer, source, namespace, namespace_labels, f"{where}[{number}]"):
                return True
    return False


def denied(
    policies: Iterable[Mapping[str, Any]],
    pods: Sequence[NodeView],
    storage_port: int,
    namespace_labels: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, frozenset[str]]:
    """Source Pod name → the Pods whose storage port it may not reach (only sources with a cut).

    ``namespace_labels`` (namespace → its labels) is needed for ``namespaceSelector`` peers
    that select by label; a namespace missing from it has none.
    """
    policies = list(policies)
    labels = namespace_labels or {}
    cuts: dict[str, set[str]] = {}
    for destination in pods:
        limiting = [p for p in policies if applies_to(p, destination)]
        if not limiting:
            continue
        for source in pods:
            if source.name == destination.name:
                continue
            if not any(admits(p, source, storage_port, labels) for p in limiting):
                cuts.setdefault(source.name, set()).add(destination.name)
    return {source: frozenset(destinations) for source, destinations in cuts.items()}

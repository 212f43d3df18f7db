"""The per-pod ``/etc/hosts``: how service names resolve without cluster DNS.

localkube runs no DNS server and no kube-proxy (a ClusterIP routes nowhere), so the agent
writes every Service that has an endpoint into each pod's ``/etc/hosts``, pointing at its first
ready endpoint address: ``<svc>.<ns>.svc.cluster.local <svc>.<ns>.svc <svc>.<ns>`` everywhere
and also the bare ``<svc>`` in the pod's own namespace, which is what the search path
``<ns>.svc.cluster.local svc.cluster.local cluster.local`` would resolve in a cluster. The file
Endpoints and EndpointSlices cannot hold loopback addresses (apiserver validation), while pods
here run on loopback, so a Service with a ``selector`` and no endpoint resolves to the podIP of
its first Running, ready matching pod (by name), which is what the endpoints controller would
have published. The file is written when the pod starts (the kubelet's own hosts file is
static too); a Service created later is not seen by pods already running. Pure: the caller
lists Services, endpoints and pods.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cqltest.localkube.agent.fields import POD_IP

CLUSTER_DOMAIN = "cluster.local"

_HEADER = """\
# Kubernetes-managed hosts file (localkube node agent).
127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
fe00::0\tip6-mcastprefix
fe00::1\tip6-allnodes
fe00::2\tip6-allrouters
"""


@dataclass(frozen=True)
class ServiceAddress:
    name: str
    namespace: str
    address: str


def _ready_addresses_from_endpoints(endpoints: Mapping[str, Any]) -> list[str]:
    return [
        str(address["ip"])
        for subset in endpoints.get("subsets") or []
        for address in subset.get("addresses") or []
        if address.get("ip")
    ]


def _ready_addresses_from_slice(endpoint_slice: Mapping[str, Any]) -> list[str]:
    return [
        str(address)
        for endpoint in endpoint_slice.get("endpoints") or []
        if (endpoint.get("conditions") or {}).get("ready", True) is not False
        for address in endpoint.get("addresses") or []
    ]


def _serving(pod: Mapping[str, Any]) -> bool:
    status = pod.get("status") or {}
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
    return (
        status.get("phase") == "Running"
        and bool(status.get("podIP"))
        and ready
        and not pod.get("metadata", {}).get("deletionTimestamp")
    )


def _selected_address(
    namespace: str, selector: Mapping[str, str], pods: Iterable[Mapping[str, Any]]
) -> str | None:
    matching = sorted(
        (
            pod
            for pod in pods
            if pod.get("metadata", {}).get("namespace") == namespace
            and _serving(pod)
            and all((pod["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
        ),
        key=lambda pod: str(pod["metadata"].get("name")),
    )
    return str(matching[0]["status"]["podIP"]) if matching else None


def service_addresses(
    services: Iterable[Mapping[str, Any]],
    endpoints: Iterable[Mapping[str, Any]],
    endpoint_slices: Iterable[Mapping[str, Any]],
    pods: Iterable[Mapping[str, Any]] = (),
) -> list[ServiceAddress]:
    """Each Service with a ready endpoint → its first address (Endpoints, then slices, then
    the pods its selector matches)."""
    pods = list(pods)
    found: dict[tuple[str, str], str] = {}
    for item in endpoints:
        meta = item.get("metadata", {})
        addresses = _ready_addresses_from_endpoints(item)
        if addresses:
            found.setdefault((meta.get("namespace", ""), meta.get("name", "")), addresses[0])
    for item in endpoint_slices:
        meta = item.get("metadata", {})
        service = (meta.get("labels") or {}).get("kubernetes.io/service-name")
        addresses = _ready_addresses_from_slice(item)
        if service and addresses:
            found.setdefault((meta.get("namespace", ""), service), addresses[0])
    result: list[ServiceAddress] = []
    for service_obj in services:
        meta = service_obj.get("metadata", {})
        key = (str(meta.get("namespace", "")), str(meta.get("name", "")))
        selector = (service_obj.get("spec") or {}).get("selector")
        address = found.get(key) or (selector and _selected_address(key[0], selector, pods))
        if address:
            result.append(ServiceAddress(key[1], key[0], address))
    return sorted(result, key=lambda s: (s.namespace, s.name))


def render(
    pod: Mapping[str, Any],
    services: Sequence[ServiceAddress],
) -> str:
    """The file's text: localhost, the pod's own name, hostAliases, then the Services."""
    meta = pod.get("metadata", {})
    spec = pod.get("spec", {})
    namespace = str(meta.get("namespace", "default"))
    hostname = str(spec.get("hostname") or meta.get("name", ""))
    lines = [_HEADER.rstrip("\n")]
    own = [hostname]
    if spec.get("subdomain"):
        own.insert(0, f"{hostname}.{spec['subdomain']}.{namespace}.svc.{CLUSTER_DOMAIN}")
    lines.append(f"{POD_IP}\t{' '.join(own)}")
    for alias in spec.get("hostAliases") or []:
        names = " ".join(str(name) for name in alias.get("hostnames") or [])
        if names:
            lines.append(f"{alias.get('ip')}\t{names}")
    for service in services:
        aliases = [
            f"{service.name}.{service.namespace}.svc.{CLUSTER_DOMAIN}",
            f"{service.name}.{service.namespace}.svc",
            f"{service.name}.{service.namespace}",
        ]
        if service.namespace == namespace:
            aliases.append(service.name)
        lines.append(f"{service.address}\t{' '.join(aliases)}")
    return "\n".join(lines) + "\n"

"""Downward-API values (``fieldRef``, ``resourceFieldRef``) as the kubelet computes them.

Shared by env vars (``valueFrom``) and ``downwardAPI`` volumes, which accept the same
selectors. Pure: the pod is a JSON-shaped mapping, node allocatable is passed in (limits that
are not set default to it, as in the kubelet's ``containerResourceRuntimeValue``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from kubernetes.utils import parse_quantity

from cqltest.localkube.errors import LocalkubeError

#: Pods run on the host network (no network namespace, no CNI): podIP = hostIP = loopback.
POD_IP = "127.0.0.1"

_SUBSCRIPT = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")


class ConfigError(LocalkubeError):
    """A container's configuration cannot be built (the kubelet's ``CreateContainerConfigError``):
    a missing Secret, ConfigMap or key, or a selector the kubelet would reject."""


def _format_map(values: Mapping[str, str]) -> str:
    """``key="value"`` lines, sorted, as the kubelet writes whole label/annotation maps."""
    return "\n".join(f"{k}={_quote(v)}" for k, v in sorted(values.items()))


def _quote(value: str) -> str:
    # Go's strconv.Quote for the printable ASCII the kubelet meets in practice.
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def field_value(pod: Mapping[str, Any], path: str, *, whole_maps: bool = False) -> str:
    """The value of ``fieldRef.fieldPath`` for this pod.

    ``whole_maps`` allows ``metadata.labels``/``metadata.annotations`` themselves (volumes
    only; an env var must name one key).
    """
    meta = pod.get("metadata", {})
    spec = pod.get("spec", {})
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.hostIP": POD_IP,
        "status.hostIPs": POD_IP,
        "status.podIP": POD_IP,
        "status.podIPs": POD_IP,
    }
    if path in simple:
        return str(simple[path])
    match = _SUBSCRIPT.match(path)
    if match:
        return str((meta.get(match.group(1)) or {}).get(match.group(2), ""))
    if whole_maps and path in ("metadata.labels", "metadata.annotations"):
        return _format_map(meta.get(path.split(".", 1)[1]) or {})
    raise ConfigError(f"unsupported fieldPath: {path}")


def _container(pod: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    spec = pod.get("spec", {})
    for container in [*spec.get("initContainers", []), *spec.get("containers", [])]:
        if container.get("name") == name:
            return dict(container)
    raise ConfigError(f"container {name!r} not found in pod for resourceFieldRef")


def resource_value(
    pod: Mapping[str, Any],
    container_name: str,
    ref: Mapping[str, Any],
    allocatable: Mapping[str, str],
) -> str:
    """``resourceFieldRef``: the container's limit or request in ``divisor`` units, rounded up."""
    resource = str(ref.get("resource", ""))
    kind, _, name = resource.partition(".")
    if kind not in ("limits", "requests") or name not in ("cpu", "memory", "ephemeral-storage"):
        raise ConfigError(f"unsupported resource: {resource}")
    container = _container(pod, str(ref.get("containerName") or container_name))
    resources = container.get("resources") or {}
    raw = (resources.get(kind) or {}).get(name)
    if raw is None and kind == "requests":
        raw = (resources.get("limits") or {}).get(name)
    if raw is None:
        raw = allocatable.get(name, "0") if kind == "limits" else "0"
    value: Decimal = parse_quantity(str(raw))  # type: ignore[no-untyped-call]
    divisor: Decimal = parse_quantity(str(ref.get("divisor") or "1"))  # type: ignore[no-untyped-call]
    if divisor <= 0:
        raise ConfigError(f"invalid divisor {ref.get('divisor')!r} for {resource}")
    if name == "cpu":
        # The kubelet divides milli-values, so a 1m request with divisor 1 reads "1".
        return str(math.ceil(math.ceil(value * 1000) / (divisor * 1000)))
    return str(math.ceil(value / divisor))

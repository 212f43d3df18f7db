"""How a K8ssandraCluster's status reads as the engine's view of a provisioning cluster.

The contract (``reference/k8ssandra.md`` §2): a datacenter is ready when its CassandraDatacenter
status, copied under ``status.datacenters.<dc>.cassandra``, has condition ``Ready=True`` and
``cassandraOperatorProgress: Ready``; the cluster is ready when every datacenter is.
``status.error`` is ``"None"`` after a clean reconcile and the last error otherwise. The
maintainers warn that Ready can precede CQL, so readiness here only means "probe it now".
Pure: the object comes in as the dict the apiserver returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class K8ssandraView:
    """What the operator learned from one read of the K8ssandraCluster."""

    ready: bool
    datacenters: dict[str, str] = field(default_factory=dict)
    """Per-DC state for the TestRun status: Ready, or the operator's progress word."""
    message: str = ""
    """Where provisioning stands, naming each DC and its last status (and any error)."""


def datacenter_state(entry: Mapping[str, Any] | None) -> str:
    """``Ready``, or what the DC is doing: its progress word, a false condition, or Pending."""
    cassandra = (entry or {}).get("cassandra") or {}
    conditions = {c.get("type"): c.get("status") for c in cassandra.get("conditions") or []}
    progress = cassandra.get("cassandraOperatorProgress")
    if conditions.get("Ready") == "True" and progress == "Ready":
        return "Ready"
    if not cassandra:
        return "Pending"
    # "Ready" progress without the Ready condition is a DC still creating its users.
    return str(progress) if progress and progress != "Ready" else "NotReady"


def k8ssandra_view(obj: Mapping[str, Any] | None, datacenters: Sequence[str]) -> K8ssandraView:
    """The view of ``obj`` (None: not created yet) for the TestRun's ``datacenters``."""
    if obj is None:
        return K8ssandraView(
            False, dict.fromkeys(datacenters, "Pending"), "waiting for the K8ssandraCluster"
        )
    status = obj.get("status") or {}
    entries = status.get("datacenters") or {}
    states = {dc: datacenter_state(entries.get(dc)) for dc in datacenters}
    ready = all(state == "Ready" for state in states.values())
    parts = [f"{dc}: {state}" for dc, state in states.items()]
    error = status.get("error")
    if error and error != "None":
        parts.append(f"error: {error}")
    return K8ssandraView(ready, states, "K8ssandraCluster " + ", ".join(parts))

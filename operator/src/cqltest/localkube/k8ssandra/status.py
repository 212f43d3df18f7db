"""The K8ssandraCluster status the stand-in writes: the shape k8ssandra-operator writes.

Clients judge readiness the way they would against real K8ssandra (contract §2): condition
``CassandraInitialized`` (set True once, never changed after), ``status.datacenters.<dc>.
cassandra`` (a CassandraDatacenter status: conditions ``Ready``/``Initialized``/...,
``cassandraOperatorProgress`` ``Updating`` → ``Ready``, ``nodeStatuses``, users upserted),
``error`` (``"None"`` or the failure) and ``observedGeneration``. Transition times are kept from
the previous status while a condition's value does not change, as the operators do. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cqltest.localkube.k8ssandra.translate import DatacenterPlan

NO_ERROR = "None"
INITIALIZED = "CassandraInitialized"
#: cass-operator's datacenter conditions, with their value while starting and once ready.
_DC_CONDITIONS = (
    ("Healthy", "True", "True"),
    ("Valid", "True", "True"),
    ("Initialized", "False", "True"),
    ("Ready", "False", "True"),
    ("ScalingUp", "True", "False"),
    ("Updating", "False", "False"),
    ("Stopped", "False", "False"),
    ("ReplacingNodes", "False", "False"),
    ("RollingRestart", "False", "False"),
)


@dataclass(frozen=True)
class NodeStatus:
    pod: str
    address: str
    rack: str
    host_id: str = ""


def _conditions_by_type(conditions: Any) -> dict[str, Mapping[str, Any]]:
    if not isinstance(conditions, list):
        return {}
    return {c["type"]: c for c in conditions if isinstance(c, Mapping) and "type" in c}


def condition(
    kind: str, value: str, now: str, previous: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """A condition whose lastTransitionTime moves only when its status changes."""
    before = previous.get(kind)
    since = before.get("lastTransitionTime") if before and before.get("status") == value else None
    return {
        "type": kind,
        "status": value,
        "lastTransitionTime": since or now,
        "reason": "",
        "message": "",
    }


def datacenter_status(
    dc: DatacenterPlan,
    ready: bool,
    nodes: Sequence[NodeStatus],
    generation: int,
    now: str,
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``status.datacenters.<dc>`` as k8ssandra-operator copies it from the CassandraDatacenter.

    ``ready`` latches like cass-operator's: once a DC was Ready, a node restarting later shows
    in its Pod, not in the DC's conditions (which is why clients also probe over CQL).
    """
    before = (previous or {}).get("cassandra") or {}
    previous_conditions = _conditions_by_type(before.get("conditions"))
    was_ready = previous_conditions.get("Ready", {}).get("status") == "True"
    ready = ready or was_ready
    cassandra: dict[str, Any] = {
        "cassandraOperatorProgress": "Ready" if ready else "Updating",
        "conditions": [
            condition(kind, done if ready else starting, now, previous_conditions)
            for kind, starting, done in _DC_CONDITIONS
        ],
        "datacenterName": dc.cassandra_name,
        "observedGeneration": generation,
        "nodeStatuses": {
            node.pod: {"hostID": node.host_id, "ip": node.address, "rack": node.rack}
            for node in nodes
        },
        "lastServerNodeStarted": before.get("lastServerNodeStarted") or now,
    }
    if ready:
        upserted = before.get("usersUpserted") or now
        cassandra["usersUpserted"] = upserted
        cassandra["superUserUpserted"] = before.get("superUserUpserted") or upserted
    return {"cassandra": cassandra}


def cluster_status(
    datacenters: Mapping[str, dict[str, Any]],
    generation: int,
    now: str,
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole ``status``: CassandraInitialized once every DC is Ready (and for good)."""
    previous = previous or {}
    previous_conditions = _conditions_by_type(previous.get("conditions"))
    all_ready = bool(datacenters) and all(
        dc["cassandra"]["cassandraOperatorProgress"] == "Ready" for dc in datacenters.values()
    )
    initialized = all_ready or previous_conditions.get(INITIALIZED, {}).get("status") == "True"
    status: dict[str, Any] = {
        "conditions": [condition(INITIALIZED, "True", now, previous_conditions)]
        if initialized
        else [],
        "datacenters": dict(datacenters),
        "error": NO_ERROR,
    }
    # observedGeneration: the spec was acted on; set once ready (a failure sets it too, see
    # error_status), as the operator sets it only after every datacenter reconciled
    if all_ready:
        status["observedGeneration"] = generation
    elif "observedGeneration" in previous:
        status["observedGeneration"] = previous["observedGeneration"]
    return status


def error_status(
    message: str, generation: int, previous: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A status that keeps what was reported and sets ``error`` (the failure, with log tail)."""
    status = dict(previous or {})
    status["error"] = message
    status["observedGeneration"] = generation
    return status


def cluster_ready(body: Mapping[str, Any]) -> bool:
    """The contract's readiness predicate for a K8ssandraCluster (§2.3, without its CQL probe):
    the latest spec observed, no error, CassandraInitialized, and every DC Ready with progress
    Ready and as many node statuses as its size. What tests and the benchmark wait for."""
    status_ = body.get("status") or {}
    conditions = _conditions_by_type(status_.get("conditions"))
    if conditions.get(INITIALIZED, {}).get("status") != "True":
        return False
    if status_.get("error") != NO_ERROR:
        return False
    if status_.get("observedGeneration", 0) < body["metadata"].get("generation", 0):
        return False
    for dc in ((body.get("spec") or {}).get("cassandra") or {}).get("datacenters") or []:
        datacenter = (status_.get("datacenters") or {}).get(dc["metadata"]["name"]) or {}
        cassandra = datacenter.get("cassandra") or {}
        dc_conditions = _conditions_by_type(cassandra.get("conditions"))
        if dc_conditions.get("Ready", {}).get("status") != "True":
            return False
        if cassandra.get("cassandraOperatorProgress") != "Ready":
            return False
        if len(cassandra.get("nodeStatuses") or {}) != dc.get("size"):
            return False
    return True


def unchanged_by(existing: Any, desired: Any) -> bool:
    """Whether a merge patch of ``desired`` onto ``existing`` would change nothing (so the
    write, and the watch event it causes, can be skipped)."""
    if isinstance(desired, Mapping):
        return isinstance(existing, Mapping) and all(
            key in existing and unchanged_by(existing[key], value) for key, value in desired.items()
        )
    return bool(existing == desired)

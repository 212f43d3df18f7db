"""What the operator makes and deletes to carry out a fault on Kubernetes, decided purely.

The engine decides *when* a fault happens (:mod:`cqltest.engine.faults`); on Kubernetes the
operator carries it out on cass-operator's node Pods (``<cluster>-<dc>-<rack>-sts-<i>``): a
NodeKill or NodeStop deletes them (the StatefulSet recreates each at once), a RollingRestart
deletes them one after the other, a Partition is a NetworkPolicy pair, and recovery is checked
by a probe Job inside the cluster's network. Everything here is a function of the spec, the
Pods as the apiserver returns them and the fault's recorded ``injectedAt``, so a restarted
operator reaches the same conclusions from the same objects; :mod:`cqltest.kube.faults` does
the calls.

A Pod is a *replacement* when it was created at or after the injection. The injection time is
recorded in whole seconds (``injection_time``) because creationTimestamps have no fraction: a
Pod recreated in the same second as the delete must still count as new.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cqltest.engine.names import (
    LABEL_COMPONENT,
    LABEL_PREFIX,
    LABEL_TESTRUN,
    child_name,
    label_value,
    probe_name,
)
from cqltest.model import FaultSpec, TestRunSpec
from cqltest.model.faults import NodeRef, Shape, group_nodes, target_nodes
from cqltest.render.cluster import DEFAULT_RACK
from cqltest.render.environment import Connection
from cqltest.render.job import PROBE_RESOURCES, PYTHON, deadline_seconds, job_manifest
from cqltest.render.pods import NO_SECRETS, Owner, Secrets, pod_spec, probe_environment

Object = Mapping[str, Any]
LABEL_FAULT = f"{LABEL_PREFIX}fault"
LABEL_POOL = f"{LABEL_PREFIX}pool"
CO_PREFIX = "cassandra.datastax.com/"
CO_CLUSTER, CO_DATACENTER = f"{CO_PREFIX}cluster", f"{CO_PREFIX}datacenter"
POD_NAME = "statefulset.kubernetes.io/pod-name"
MANAGED_BY = "app.kubernetes.io/managed-by"
CASS_OPERATOR = "cass-operator"
RECOVERY = "recovery"
"""The ``cqltest.dev/component`` of a recovery probe Job."""
MIN_PROBE = timedelta(seconds=15)
MAX_PROBE = timedelta(minutes=2)


class FaultError(ValueError):
    """A fault the operator cannot carry out; the message names what is missing and why."""


def injection_time(now: datetime) -> datetime:
    """``now`` rounded down to the second, the resolution of a Pod's creationTimestamp."""
    return now.replace(microsecond=0)


def shape(spec: TestRunSpec) -> Shape:
    """The cluster's datacenters as target selection reads them (K8ssandra's default rack)."""
    return [(dc.name, dc.size, list(dc.racks or [DEFAULT_RACK])) for dc in spec.cluster.datacenters]


def pod_name(cluster: str, layout: Shape, node: NodeRef) -> str:
    """cass-operator's Pod of node ``(dc, i)``: racks take nodes round-robin, one STS each."""
    dc, index = node
    racks = next(r for name, _, r in layout if name == dc) or [DEFAULT_RACK]
    rack = racks[index % len(racks)]
    return f"{cluster}-{dc}-{rack}-sts-{index // len(racks)}"


def fault_pods(spec: TestRunSpec, fault: FaultSpec, cluster: str) -> list[list[str]]:
    """The Pods a fault hits: one list for a node fault, the two sides for a Partition."""
    layout = shape(spec)
    try:
        if fault.action == "Partition":
            groups = [group_nodes(layout, g) for g in fault.between or []]
        else:
            groups = [target_nodes(layout, fault.action, fault.target)]
    except ValueError as exc:
        raise FaultError(f"fault {fault.name}: {exc}") from exc
    return [[pod_name(cluster, layout, node) for node in group] for group in groups]


# ------------------------------------------------------------------------------ node Pods


def _meta(obj: Object) -> Object:
    return obj.get("metadata") or {}


def timestamp(value: Any) -> datetime | None:
    """An apiserver timestamp (``2026-01-02T03:04:05Z``) as a datetime; None when unset."""
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None


def condition(obj: Object, kind: str) -> bool:
    """Whether ``obj`` (a Pod, a Job) has condition ``kind`` with status True."""
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") == kind and c.get("status") == "True" for c in conditions)


def ready(pod: Object) -> bool:
    return condition(pod, "Ready")


def replaced(pod: Object | None, injected_at: datetime) -> bool:
    """A live Pod created since the injection: the node's restart after a delete."""
    if pod is None or _meta(pod).get("deletionTimestamp"):
        return False
    created = timestamp(_meta(pod).get("creationTimestamp"))
    return created is not None and created >= injected_at


def deletable(pod: Object, run: str) -> str | None:
    """Why the operator must not delete ``pod`` (None when it may): only its run's nodes."""
    labels = _meta(pod).get("labels") or {}
    name = _meta(pod).get("name")
    if labels.get(MANAGED_BY) != CASS_OPERATOR:
        return f"pod {name} is not a cass-operator node ({MANAGED_BY} is not {CASS_OPERATOR})"
    if labels.get(LABEL_TESTRUN) != label_value(run) and LABEL_POOL not in labels:
        return (
            f"pod {name} is not labelled {LABEL_TESTRUN}={label_value(run)} (nor "
            f"{LABEL_POOL}): the operator deletes only its own runs' cluster pods"
        )
    return None


@dataclass(frozen=True)
class Roll:
    """Where a rolling restart stands: the Pod to delete now, or done (and when)."""

    delete: str | None = None
    done_at: datetime | None = None
    waiting: str = ""


def roll(targets: Sequence[str], pods: Mapping[str, Object], injected_at: datetime) -> Roll:
    """The next step of a rolling restart, from the Pods alone.

    Targets go in order; each is deleted only once every one before it was replaced and is
    Ready. A target that is terminating, absent or replaced but not Ready yet is waited for.
    """
    times = []
    for name in targets:
        pod = pods.get(name)
        if replaced(pod, injected_at):
            assert pod is not None
            if not ready(pod):
                return Roll(waiting=f"{name} restarted, not Ready yet")
            times.append(_ready_since(pod) or injected_at)
            continue
        if pod is None or _meta(pod).get("deletionTimestamp"):
            return Roll(waiting=f"{name} is being restarted")
        return Roll(delete=name)
    return Roll(done_at=max([injected_at, *times]))


def _ready_since(pod: Object) -> datetime | None:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return timestamp(condition.get("lastTransitionTime"))
    return None


def addresses(
    targets: Sequence[str], pods: Iterable[Object], injected_at: datetime, restarted: bool
) -> tuple[list[str], list[str]] | None:
    """(target IPs, IPs of the other live nodes), or None while a target has no address yet.

    ``restarted``: the targets were deleted, so only their replacements count.
    """
    by_name = {str(_meta(p).get("name")): p for p in pods}
    found = []
    for name in targets:
        pod = by_name.get(name)
        fresh = replaced(pod, injected_at) if restarted else pod is not None
        ip = (pod or {}).get("status", {}).get("podIP") if fresh else None
        if not ip:
            return None
        found.append(str(ip))
    others = [
        str(p["status"]["podIP"])
        for name, p in sorted(by_name.items())
        if name not in targets
        and not _meta(p).get("deletionTimestamp")
        and (p.get("status") or {}).get("podIP")
        and ready(p)
    ]
    return found, others


# ------------------------------------------------------------------------------ manifests


def policy_names(run: str, fault: str) -> list[str]:
    """The NetworkPolicy pair of a Partition: one per side, named by run and fault."""
    return [child_name(run, fault, side) for side in (1, 2)]


def _selector(cluster: str, side: Sequence[str], dc: str | None) -> tuple[str, Object]:
    """The label key a side is selected by, and its podSelector."""
    if dc is not None:
        return CO_DATACENTER, {"matchLabels": {CO_CLUSTER: cluster, CO_DATACENTER: dc}}
    expression = {"key": POD_NAME, "operator": "In", "values": list(side)}
    return POD_NAME, {"matchLabels": {CO_CLUSTER: cluster}, "matchExpressions": [expression]}


def partition_policies(
    owner: Owner, fault: FaultSpec, cluster: str, sides: Sequence[Sequence[str]]
) -> list[dict[str, Any]]:
    """Two NetworkPolicies: each side admits ingress from anything but the other side.

    A side that is a whole datacenter is selected by its datacenter label, otherwise by Pod
    name; a CNI that enforces NetworkPolicy then cuts the two sides apart both ways.
    """
    groups = fault.between or []
    whole = [g.datacenter if g.nodes is None else None for g in groups]
    if None in whole:
        whole = [None, None]  # one key for both sides, so NotIn compares like with like
    keys = [_selector(cluster, side, dc) for side, dc in zip(sides, whole, strict=True)]
    values = [list(side) if dc is None else [dc] for side, dc in zip(sides, whole, strict=True)]
    labels = {LABEL_TESTRUN: label_value(owner.name), LABEL_FAULT: fault.name}
    policies = []
    for index, name in enumerate(policy_names(owner.name, fault.name)):
        key, selector = keys[index]
        other = values[1 - index]
        peer = {"matchExpressions": [{"key": key, "operator": "NotIn", "values": other}]}
        policies.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": owner.metadata(name, labels),
                "spec": {
                    "podSelector": selector,
                    "policyTypes": ["Ingress"],
                    "ingress": [{"from": [{"namespaceSelector": {}, "podSelector": peer}]}],
                },
            }
        )
    return policies


def recovery_job_name(run: str, fault: str, attempt: int) -> str:
    return probe_name(f"{run}-{fault}-recovery", attempt)


def probe_timeout(left: timedelta) -> timedelta:
    """How long one recovery probe keeps trying: what is left of expectRecoveryWithin, bounded."""
    return min(MAX_PROBE, max(MIN_PROBE, left))


def recovery_job(
    owner: Owner,
    fault: str,
    attempt: int,
    connection: Connection,
    nodes: tuple[Sequence[str], Sequence[str]],
    *,
    image: str,
    timeout: timedelta,
    secrets: Secrets = NO_SECRETS,
) -> dict[str, Any]:
    """A Job running ``cqlsuites probe --nodes``: Complete once the targets recovered.

    ``nodes`` is (targets, observers): each target must answer CQL and each observer must hear
    each target's gossip heartbeat advance.
    """
    targets, observers = nodes
    labels = {
        LABEL_TESTRUN: label_value(owner.name),
        LABEL_COMPONENT: RECOVERY,
        LABEL_FAULT: fault,
    }
    command = [PYTHON, "-m", "cqlsuites", "probe", "--timeout", str(deadline_seconds(timeout))]
    command += ["--nodes", ",".join(targets)]
    if observers:
        command += ["--observers", ",".join(observers)]
    pod = pod_spec(
        image=image,
        command=command,
        env=probe_environment(connection, secrets),
        secrets=secrets,
        resources=PROBE_RESOURCES,
        container="probe",
    )
    name = recovery_job_name(owner.name, fault, attempt)
    return job_manifest(owner, name, labels, pod, timeout + timedelta(minutes=1))

"""``spec.faults[]`` and ``status.faults[]``: what breaks during a run, when, and how it went.

Faults are steps of a TestRun like suites, so a manifest says "kill a node of dc1 30 s into the
resilience suite" and both backends carry it out with the same timing rules (the engine's
:mod:`cqltest.engine.faults`). Targets name nodes by datacenter, rack and index so the same
manifest works for local processes and for cass-operator pods.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from cqltest.model.types import CamelModel, DnsLabel, Duration

FaultAction = Literal["NodeKill", "NodeStop", "NodePause", "RollingRestart", "Partition"]
FaultPhase = Literal["Pending", "Injected", "Healed", "Recovered", "Failed"]
NODE_FAULTS: frozenset[str] = frozenset({"NodeKill", "NodeStop", "NodePause"})
FINAL_FAULT_PHASES: frozenset[str] = frozenset({"Recovered", "Failed"})
MAX_FAULTS = 16


class FaultTarget(CamelModel):
    """Which nodes a node fault hits: those of ``datacenter`` (default: all) and ``rack``
    (default: all), then ``node`` (one, by index among them) or the first ``count`` of them.

    Without ``node`` and ``count`` a NodeKill, NodeStop or NodePause hits one node and a
    RollingRestart every selected node.
    """

    datacenter: DnsLabel | None = None
    rack: DnsLabel | None = None
    node: int | None = Field(
        default=None, ge=0, description="0-based index among the selected nodes."
    )
    count: int | None = Field(default=None, ge=1, description="How many of the selected nodes.")


class PartitionGroup(CamelModel):
    """One side of a partition: a datacenter's nodes, some of them, or nodes of the whole cluster.

    ``nodes`` are 0-based indices within ``datacenter`` when it is given, otherwise within the
    cluster's nodes in manifest order (datacenter by datacenter).
    """

    datacenter: DnsLabel | None = None
    nodes: list[int] | None = Field(default=None, min_length=1, max_length=100)


class FaultWhen(CamelModel):
    """When to inject: ``afterSeconds`` into a suite's running attempt, or just before it starts."""

    during_suite: DnsLabel | None = Field(
        default=None, description="Inject while this suite runs, afterSeconds after it started."
    )
    after_seconds: float = Field(default=0, ge=0, le=86400)
    before_suite: DnsLabel | None = Field(
        default=None, description="Inject just before this suite starts; it starts after."
    )


class FaultSpec(CamelModel):
    """One fault of a run."""

    name: DnsLabel = Field(description="Unique name of this fault; names it in the status.")
    action: FaultAction = Field(
        description="NodeKill (SIGKILL, restart after downFor), NodeStop (graceful stop, start "
        "after downFor), NodePause (freeze, thaw after downFor; local mode only: a Pod cannot "
        "be frozen, the operator refuses it), RollingRestart (each target node in turn, "
        "waiting for it to be UP), Partition (cut all traffic between the two groups of "
        "between for duration; on Kubernetes a NetworkPolicy pair, which needs a CNI that "
        "enforces NetworkPolicy)."
    )
    target: FaultTarget | None = None
    between: list[PartitionGroup] | None = Field(
        default=None, min_length=2, max_length=2, description="Partition: the two sides."
    )
    when: FaultWhen
    down_for: Duration = Field(
        default="10s",  # text, so the CRD default reads 10s
        validate_default=True,
        description="NodeKill, NodeStop, NodePause: how long the nodes stay down. On "
        "Kubernetes the StatefulSet recreates a deleted node Pod at once, so the node restarts "
        "right after the injection; the heal is recorded downFor later and recovery is "
        "checked from then.",
    )
    duration: Duration = Field(
        default="20s", validate_default=True, description="Partition: how long the cut lasts."
    )
    expect_recovery_within: Duration = Field(
        default="2m",
        validate_default=True,
        description="After the heal, every target node must answer CQL and be seen UP by its "
        "peers within this time (per node for a RollingRestart), or the run fails.",
    )


class FaultStatus(CamelModel):
    """One fault's timeline."""

    name: str
    action: FaultAction
    phase: FaultPhase
    targets: list[str] = Field(
        default_factory=list, description="The node addresses (or pod names) it hit."
    )
    injected_at: datetime | None = None
    healed_at: datetime | None = None
    recovered_at: datetime | None = Field(
        default=None,
        description="When every target node answered CQL and was seen UP by its peers.",
    )
    reason: str | None = Field(default=None, max_length=4096)
    error: str | None = Field(
        default=None,
        max_length=4096,
        description="Why the backend could not inject, heal or see recovery (kept so a "
        "restarted operator sees the failure again).",
    )


NodeRef = tuple[str, int]
"""A node as (datacenter, 0-based index within it); backends map it to an address or a pod."""
Shape = list[tuple[str, int, list[str]]]
"""A cluster's shape: (datacenter, size, racks) in manifest order; racks empty means one rack."""


def _nodes(shape: Shape, datacenter: str | None, rack: str | None) -> list[NodeRef]:
    selected = []
    for dc, size, racks in shape:
        if datacenter is not None and dc != datacenter:
            continue
        names = racks or ["rack1"]
        selected += [(dc, i) for i in range(size) if rack is None or names[i % len(names)] == rack]
    return selected


def target_nodes(shape: Shape, action: FaultAction, target: FaultTarget | None) -> list[NodeRef]:
    """The nodes a node fault hits (see :class:`FaultTarget`); raises ValueError saying why none.

    Racks are assigned round-robin, as both backends lay nodes out.
    """
    target = target or FaultTarget()
    selected = _nodes(shape, target.datacenter, target.rack)
    where = " ".join(
        f"{key} {value!r}"
        for key, value in (("datacenter", target.datacenter), ("rack", target.rack))
        if value is not None
    )
    if not selected:
        raise ValueError(f"no node is in {where or 'the cluster'}")
    if target.node is not None:
        if target.node >= len(selected):
            raise ValueError(
                f"node {target.node} does not exist: {where or 'the cluster'} has "
                f"{len(selected)} node(s), indices 0..{len(selected) - 1}"
            )
        return [selected[target.node]]
    if target.count is not None:
        if target.count > len(selected):
            raise ValueError(
                f"count {target.count} exceeds the {len(selected)} node(s) of "
                f"{where or 'the cluster'}"
            )
        return selected[: target.count]
    return selected if action == "RollingRestart" else selected[:1]


def group_nodes(shape: Shape, group: PartitionGroup) -> list[NodeRef]:
    """The nodes of one side of a partition; raises ValueError saying why it is empty or wrong."""
    selected = _nodes(shape, group.datacenter, None)
    where = f"datacenter {group.datacenter!r}" if group.datacenter else "the cluster"
    if not selected:
        raise ValueError(f"no node is in {where}")
    if group.nodes is None:
        return selected
    bad = [n for n in group.nodes if not 0 <= n < len(selected)]
    if bad:
        raise ValueError(
            f"node {bad[0]} does not exist: {where} has {len(selected)} node(s), "
            f"indices 0..{len(selected) - 1}"
        )
    return [selected[n] for n in dict.fromkeys(group.nodes)]

"""Local mode's hands for ``spec.faults``: kill, stop, freeze, restart and partition real nodes.

The engine decides when (:mod:`cqltest.engine.faults`); this module carries an InjectFault or a
HealFault out on the run's LocalCluster and records what happened as a
:class:`~cqltest.engine.FaultObserved`. The slow parts (a graceful stop, a restart, waiting for
recovery) run in a thread per fault so the run loop keeps observing suites meanwhile; each
action is recorded before its thread starts, so deciding again never injects or heals twice.

Recovered means every target node answers CQL and its peers hear it again: each peer's gossip
state (``system_views.gossip_info``) shows the node's heartbeat advancing, which only happens
while gossip flows between them. The cluster is found by its contact points, so faults work
on a cluster this run provisioned, one from a pool, or (with ``allowFaultsOnExisting``) a
``cqltest cluster up`` cluster it attached to.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cqlsuites.probe import HEARTBEAT_GAP, deaf

from cqltest.engine import FaultObserved
from cqltest.errors import CqltestError
from cqltest.local import netfaults, state
from cqltest.local.topology import STORAGE_PORT
from cqltest.model import FaultSpec, TestRunSpec
from cqltest.model.faults import NodeRef, Shape, group_nodes, target_nodes

if TYPE_CHECKING:
    from cqltest.local.cluster import LocalCluster
    from cqltest.local.state import NodeState

log = logging.getLogger("cqltest.local.faults")
_POLL = 0.5
"""Seconds between two gossip reads: a live peer's heartbeat ticks about once a second."""


def _now() -> datetime:
    return datetime.now(UTC)


def find_cluster(contact_points: Sequence[str]) -> LocalCluster:
    """The local cluster serving the contact points: its run's, a pool's or a kept one, under any
    root (subnet claims are machine-wide, so an address names one cluster)."""
    from cqltest.local.cluster import LocalCluster

    wanted = set(contact_points)
    for directory in state.claimed_cluster_dirs():
        try:
            cluster = LocalCluster(directory, state.load(directory))
        except (CqltestError, ValueError, KeyError, TypeError, OSError):
            continue  # being created or destroyed right now
        if wanted & {n.plan.address for n in cluster.state.nodes}:
            return cluster
    raise CqltestError(
        f"no local cluster of cqltest serves {', '.join(contact_points)}: faults need one "
        "whose processes cqltest controls (cqltest cluster up, or a provisioned one)"
    )


class LocalFaults:
    """The faults of one local run: what was done to the cluster, and the threads doing it."""

    def __init__(
        self, spec: TestRunSpec, locate: Callable[[], LocalCluster], wake: Callable[[], None]
    ) -> None:
        self.faults = {f.name: f for f in spec.faults}
        self._locate = locate
        self._wake = wake
        self._lock = threading.Lock()
        self._records: dict[str, FaultObserved] = {}
        self._busy: set[str] = set()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    # -- what the run loop calls ------------------------------------------------------------

    def observe(self) -> dict[str, FaultObserved]:
        with self._lock:
            return dict(self._records)

    def inject(self, name: str) -> None:
        """Start injecting fault ``name`` unless that has begun already."""
        with self._lock:
            if name in self._records or name in self._busy:
                return
            self._busy.add(name)
        self._spawn(name, self._inject)

    def heal(self, name: str) -> None:
        """Start healing fault ``name``; healedAt is recorded now, so this happens once."""
        with self._lock:
            record = self._records.get(name)
            if record is None or record.healed_at is not None or record.error is not None:
                return
            self._records[name] = replace(record, healed_at=_now())
        self._spawn(name, self._heal)

    def close(self, timeout: float = 60.0) -> None:
        """Stop waiting for recovery and let the fault threads end (at the end of the run)."""
        self._stopping.set()
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))

    # -- the work, in threads ---------------------------------------------------------------

    def _spawn(self, name: str, work: Callable[[FaultSpec], None]) -> None:
        fault = self.faults[name]

        def run() -> None:
            try:
                work(fault)
            except Exception as exc:  # the fault's failure, reported in its status
                log.warning("fault %s failed: %s", name, exc)
                self._update(name, error=f"{type(exc).__name__}: {exc}")
            finally:
                with self._lock:
                    self._busy.discard(name)
                self._wake()

        thread = threading.Thread(target=run, name=f"fault-{name}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _update(self, name: str, **fields: object) -> None:
        with self._lock:
            record = self._records.get(name, FaultObserved())
            self._records[name] = replace(record, **fields)  # type: ignore[arg-type]
        self._wake()

    def _inject(self, fault: FaultSpec) -> None:
        cluster = self._locate()
        if fault.action == "Partition":
            sides = [
                self._nodes(cluster, group_nodes(shape_of(cluster), g)) for g in fault.between or []
            ]
            members = [[_member(cluster, n) for n in side] for side in sides]
            netfaults.partition(cluster.state.subnet, fault.name, members, STORAGE_PORT)
            targets = tuple(n.plan.address for side in sides for n in side)
            self._update(fault.name, targets=targets, injected_at=_now())
            return
        nodes = self._nodes(cluster, target_nodes(shape_of(cluster), fault.action, fault.target))
        targets = tuple(n.plan.address for n in nodes)
        if fault.action == "RollingRestart":
            self._update(fault.name, targets=targets, injected_at=_now())
            per_node = fault.expect_recovery_within.total_seconds()
            for node in nodes:
                cluster.stop_node(node.plan.address)
                cluster.start_node(node.plan.address, timeout=per_node)
                self._wait_recovered(cluster, [node], _peers(cluster, [node]), per_node)
            done = _now()
            self._update(fault.name, healed_at=done, recovered_at=done)
            return
        act = {
            "NodeKill": cluster.kill_node,
            "NodeStop": cluster.stop_node,
            "NodePause": cluster.pause_node,
        }[fault.action]
        for node in nodes:
            act(node.plan.address)
        self._update(fault.name, targets=targets, injected_at=_now())

    def _heal(self, fault: FaultSpec) -> None:
        cluster = self._locate()
        record = self.observe()[fault.name]
        nodes = [n for n in cluster.state.nodes if n.plan.address in record.targets]
        limit = fault.expect_recovery_within.total_seconds()
        if fault.action == "Partition":
            netfaults.heal(cluster.state.subnet, fault.name)
            observers = nodes
        else:
            for node in nodes:
                if fault.action == "NodePause":
                    cluster.resume_node(node.plan.address)
                else:
                    cluster.start_node(node.plan.address, timeout=limit)
            observers = _peers(cluster, nodes)
        self._wait_recovered(cluster, nodes, observers, limit)
        self._update(fault.name, recovered_at=_now())

    # -- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _nodes(cluster: LocalCluster, refs: list[NodeRef]) -> list[NodeState]:
        by_dc: dict[str, list[NodeState]] = {}
        for node in cluster.state.nodes:
            by_dc.setdefault(node.plan.datacenter, []).append(node)
        return [by_dc[dc][i] for dc, i in refs]

    def _wait_recovered(
        self,
        cluster: LocalCluster,
        targets: Sequence[NodeState],
        observers: Sequence[NodeState],
        timeout: float,
    ) -> None:
        """Until every target answers CQL and each observer hears each target's heartbeat."""
        deadline = time.monotonic() + timeout
        missing = "nothing checked yet"
        while time.monotonic() < deadline and not self._stopping.is_set():
            missing = _unrecovered(cluster, targets, observers)
            if not missing:
                return
            time.sleep(_POLL)
        raise CqltestError(f"not recovered within {timeout:g}s: {missing}")


def shape_of(cluster: LocalCluster) -> Shape:
    """The cluster's datacenters as the model's target selection reads them."""
    return [(dc.name, dc.nodes, list(dc.racks)) for dc in cluster.state.spec.datacenters]


def _member(cluster: LocalCluster, node: NodeState) -> netfaults.Member:
    if not cluster.is_running(node) or node.pid is None:
        raise CqltestError(f"{node.plan.name} ({node.plan.address}) is not running")
    return netfaults.Member(node.plan.name, node.plan.address, node.pid)


def _peers(cluster: LocalCluster, targets: Sequence[NodeState]) -> list[NodeState]:
    return [n for n in cluster.state.nodes if n not in targets and cluster.is_running(n)]


def _unrecovered(
    cluster: LocalCluster, targets: Sequence[NodeState], observers: Sequence[NodeState]
) -> str:
    """What is not recovered yet ("" when everything is): a silent node, or a deaf peer."""
    credentials = cluster.login()
    wanted = {t.plan.address for t in targets}
    for target in targets:
        try:
            driver, session = cluster.connect(target.plan.address, credentials, timeout=3.0)
        except Exception as exc:  # any failure to answer is "not yet"
            return f"{target.plan.name} does not answer CQL ({type(exc).__name__})"
        driver.shutdown()
    for observer in observers:
        try:
            driver, session = cluster.connect(observer.plan.address, credentials, timeout=3.0)
        except Exception as exc:
            return f"peer {observer.plan.name} does not answer CQL ({type(exc).__name__})"
        try:
            query = "SELECT address, generation, heartbeat FROM system_views.gossip_info"
            first = {r.address: (r.generation, r.heartbeat) for r in session.execute(query)}
            time.sleep(HEARTBEAT_GAP)
            second = {r.address: (r.generation, r.heartbeat) for r in session.execute(query)}
        except Exception as exc:
            return f"peer {observer.plan.name} cannot read gossip ({type(exc).__name__})"
        finally:
            driver.shutdown()
        silent = deaf(observer.plan.address, sorted(wanted), first, second)
        if silent is not None:
            return f"{observer.plan.name} hears no heartbeat from {silent}"
    return ""

"""Waiting for started nodes to be ready: each answers CQL and sees every other member UP.

Split from :mod:`cqltest.local.cluster` because judging readiness is its own loop with its own
state per node (a driver session, the last thing it reported, when to retry a failed login) and
its own failure reports (a dead node's log tail, every unready node's last view on a timeout).
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cassandra.cluster import Cluster, Session

from cqltest.errors import ClusterError
from cqltest.local import nodes, probe, state
from cqltest.local.topology import NATIVE_PORT, NodePlan

if TYPE_CHECKING:
    from cqltest.local.cluster import LocalCluster

_POLL = 0.25
_RECONNECT = 1.0

#: ``on_event(node_name, message)``: progress reports while nodes start (the CLI shows them).
ProgressCallback = Callable[[str, str], None]


@dataclass
class NodeTimings:
    """Seconds since the start call at which a node reached each stage (for the benchmark)."""

    spawned: float | None = None
    cql_listening: float | None = None
    cql_answering: float | None = None
    peers_up: float | None = None


@dataclass
class _Probe:
    node: NodePlan
    timings: NodeTimings = field(default_factory=NodeTimings)
    cluster: Cluster | None = None
    session: Session | None = None
    ready: bool = False
    last_view: str = "not answering CQL yet"
    #: A failed login costs the node a bcrypt hash and us a driver; don't retry every poll.
    next_connect: float = 0.0

    def close(self) -> None:
        if self.cluster is not None:
            self.cluster.shutdown()
        self.cluster = None
        self.session = None


def emit(on_event: ProgressCallback | None, node: str, message: str) -> None:
    if on_event is not None:
        on_event(node, message)


def wait_ready(
    cluster: LocalCluster,
    members: list[state.NodeState],
    started: float,
    timeout: float,
    on_event: ProgressCallback | None,
) -> None:
    """Return once every member is ready; ClusterError if one dies or ``timeout`` passes.

    ``started`` is the monotonic time the nodes were spawned; stage times are recorded in
    ``cluster.last_timings`` relative to it.
    """
    deadline = time.monotonic() + timeout
    addresses = {node.plan.address for node in members}
    probes = {node.plan.address: _Probe(node.plan) for node in members}
    for node_probe in probes.values():
        node_probe.timings = cluster.last_timings.setdefault(node_probe.node.name, NodeTimings())
    # Nodes are probed side by side: a connection (a TLS handshake, a bcrypt-checked login) or
    # a peer query on a busy node then delays no other node's, and a healthy cluster's check
    # costs one node's round trip, not the sum of all.
    workers = concurrent.futures.ThreadPoolExecutor(len(members), "readiness")
    on_event = _serialised(on_event)
    try:
        while True:
            unready = []
            for node in members:
                node_probe = probes[node.plan.address]
                if node_probe.ready:
                    continue
                if not cluster.is_running(node):
                    raise ClusterError(_died_message(cluster, node.plan))
                unready.append(node_probe)
            advancing = [
                workers.submit(_advance, cluster, p, addresses, started, on_event) for p in unready
            ]
            for future in advancing:
                future.result()
            if all(p.ready for p in probes.values()):
                return
            if time.monotonic() > deadline:
                raise ClusterError(_timeout_message(cluster, probes, timeout))
            time.sleep(_POLL)
    finally:
        workers.shutdown(wait=True)
        for node_probe in probes.values():
            node_probe.close()


def _serialised(on_event: ProgressCallback | None) -> ProgressCallback | None:
    """``on_event`` called by one probing thread at a time, as callers wrote it for."""
    if on_event is None:
        return None
    lock = threading.Lock()
    report = on_event

    def serialised(node: str, message: str) -> None:
        with lock:
            report(node, message)

    return serialised


def _advance(
    cluster: LocalCluster,
    node_probe: _Probe,
    addresses: set[str],
    started: float,
    on_event: ProgressCallback | None,
) -> None:
    plan = node_probe.node
    timings = node_probe.timings
    if node_probe.session is None:
        if not nodes.port_open(plan.address, NATIVE_PORT, timeout=0.2):
            return
        if timings.cql_listening is None:
            timings.cql_listening = time.monotonic() - started
            emit(on_event, plan.name, "CQL port open")
        if time.monotonic() < node_probe.next_connect:
            return
        try:
            node_probe.cluster, node_probe.session = cluster.connect(
                plan.address, cluster.login(), timeout=5.0
            )
        except Exception as exc:  # not ready yet (auth not set up, still starting)
            node_probe.last_view = f"CQL connection failed: {exc}"
            node_probe.next_connect = time.monotonic() + _RECONNECT
            return
        timings.cql_answering = time.monotonic() - started
        emit(on_event, plan.name, "answers CQL")
    assert node_probe.session is not None
    others = addresses - {plan.address}
    try:
        view = probe.peer_view(node_probe.session)
    except Exception as exc:
        node_probe.last_view = f"peer query failed: {exc}"
        return
    up = view.listed & view.connected & others
    node_probe.last_view = (
        f"sees {len(up)}/{len(others)} peers UP: {sorted(up)} "
        f"(gossip lists {sorted(view.listed)}, connected to {sorted(view.connected)})"
    )
    if up == others:
        node_probe.ready = True
        timings.peers_up = time.monotonic() - started
        emit(on_event, plan.name, f"ready, sees all {len(others)} peers UP")
        node_probe.close()


def _died_message(cluster: LocalCluster, plan: NodePlan) -> str:
    files = cluster.files(plan)
    return (
        f"node {plan.name} ({plan.address}) of cluster {cluster.name!r} died while starting\n"
        + nodes.log_tail([files.system_log, files.stdout_log])
    )


def _timeout_message(cluster: LocalCluster, probes: dict[str, _Probe], timeout: float) -> str:
    lines = [f"cluster {cluster.name!r} was not ready after {timeout:.0f}s:"]
    tails: list[Path] = []
    for address, node_probe in probes.items():
        if node_probe.ready:
            continue
        lines.append(f"  {node_probe.node.name} ({address}): {node_probe.last_view}")
        tails.append(cluster.files(node_probe.node).system_log)
    return "\n".join(lines) + "\n" + nodes.log_tail(tails, warnings=10)

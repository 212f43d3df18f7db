"""Making a used cluster fit for the next run: faults healed, every node UP, suites' data gone.

The pool (:mod:`cqltest.local.pooled`) resets a cluster when a run releases it and, if its
claimant died holding it, before handing it out again. A reset that fails makes the pool destroy
the cluster rather than hand out something half-clean.

Fault injection extends the first step: register a healer with :func:`on_heal` (for example
removing a cluster's network partition rules); every registered healer runs, in order, before the
nodes are started. :func:`heal_faults` itself only undoes what is visible in the processes
(paused nodes resume, stopped or killed ones start again in the next step).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from cqltest.errors import ClusterError
from cqltest.local import nodes, probe
from cqltest.local.cluster import LocalCluster
from cqltest.local.readiness import wait_ready

Healer = Callable[[LocalCluster], None]
_healers: list[Healer] = []

#: Keyspaces Cassandra owns; never dropped, whatever the baseline says.
SYSTEM_KEYSPACES = frozenset(
    {
        "system",
        "system_auth",
        "system_distributed",
        "system_schema",
        "system_traces",
        "system_views",
        "system_virtual_schema",
    }
)


def on_heal(healer: Healer) -> Healer:
    """Register ``healer`` to run on every reset (usable as a decorator); idempotent."""
    if healer not in _healers:
        _healers.append(healer)
    return healer


def heal_faults(cluster: LocalCluster) -> None:
    """Undo every fault on ``cluster``: the registered healers, then resume paused nodes."""
    for healer in _healers:
        healer(cluster)
    for address, status in cluster.status().items():
        if status == "PAUSED":
            cluster.resume_node(address)


def baseline(cluster: LocalCluster) -> dict[str, list[str]]:
    """The keyspaces and roles of a new cluster: what a reset keeps."""
    keyspaces, roles = _schema(cluster)
    return {"keyspaces": sorted(keyspaces), "roles": sorted(roles)}


def health_problem(cluster: LocalCluster, timeout: float = 20.0) -> str | None:
    """Why ``cluster`` cannot be handed out as it is (a node not UP, not answering, not seeing
    its peers), or None when it is healthy."""
    down = {address: s for address, s in cluster.status().items() if s != "UP"}
    if down:
        return ", ".join(f"{address} is {s}" for address, s in sorted(down.items()))
    try:
        with probe.quiet_driver():
            wait_ready(cluster, cluster.state.nodes, time.monotonic(), timeout, None)
    except ClusterError as exc:
        return str(exc).splitlines()[0]
    return None


def reset(cluster: LocalCluster, kept: dict[str, list[str]], timeout: float = 120.0) -> None:
    """Heal faults, bring every node UP and drop the keyspaces and roles not in ``kept``."""
    heal_faults(cluster)
    cluster.start(timeout=timeout)
    keyspaces, roles = _schema(cluster)
    keep_keyspaces = SYSTEM_KEYSPACES | set(kept.get("keyspaces", []))
    keep_roles = set(kept.get("roles", [])) | {cluster.state.username or ""}
    drops = [f"DROP KEYSPACE IF EXISTS {_quote(k)}" for k in sorted(keyspaces - keep_keyspaces)]
    drops += [f"DROP ROLE IF EXISTS {_quote(r)}" for r in sorted(roles - keep_roles)]
    if not drops:
        return
    session_cluster, session = cluster.connect(cluster.state.nodes[0].plan.address, cluster.login())
    try:
        for statement in drops:
            session.execute(statement, timeout=60)
    finally:
        session_cluster.shutdown()


def _schema(cluster: LocalCluster) -> tuple[set[str], set[str]]:
    first = next(
        (n.plan.address for n in cluster.state.nodes if cluster.is_running(n)),
        cluster.state.nodes[0].plan.address,
    )
    if not nodes.port_open(first, cluster.info().port):
        raise ClusterError(f"cluster {cluster.name!r}: {first} does not answer CQL")
    session_cluster, session = cluster.connect(first, cluster.login())
    try:
        keyspaces = {
            row.keyspace_name
            for row in session.execute("SELECT keyspace_name FROM system_schema.keyspaces")
        }
        roles = {row.role for row in session.execute("SELECT role FROM system_auth.roles")}
    finally:
        session_cluster.shutdown()
    return keyspaces, roles


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'

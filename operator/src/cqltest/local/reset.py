"""Making a used cluster fit for the next run: faults healed, every node UP, suites' data gone.

The pool (:mod:`cqltest.local.pooled`) resets a cluster when a run releases it and, if its
claimant died holding it, before handing it out again. A reset that fails makes the pool destroy
the cluster rather than hand out something half-clean.

:func:`heal_faults` removes the cluster's network partition rules (``netfaults``) and resumes
paused nodes; stopped or killed ones start again in the next step. Fault kinds that leave other
traces extend it: register a healer with :func:`on_heal`; every registered healer runs, in order,
before the nodes are started.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

from cassandra.cluster import Session
from cqlsuites.reset import quote, to_drop

from cqltest.errors import ClusterError
from cqltest.local import netfaults, nodes, probe
from cqltest.local.cluster import LocalCluster
from cqltest.local.readiness import wait_ready

Healer = Callable[[LocalCluster], None]
_healers: list[Healer] = []


def on_heal(healer: Healer) -> Healer:
    """Register ``healer`` to run on every reset (usable as a decorator); idempotent."""
    if healer not in _healers:
        _healers.append(healer)
    return healer


def heal_faults(cluster: LocalCluster) -> None:
    """Undo every fault on ``cluster``: its partition rules go, the registered healers run,
    paused nodes resume."""
    netfaults.remove_cluster(cluster.state.subnet)
    for healer in _healers:
        healer(cluster)
    for address, status in cluster.status().items():
        if status == "PAUSED":
            cluster.resume_node(address)


def baseline(cluster: LocalCluster) -> dict[str, list[str]]:
    """The keyspaces and roles of a new cluster: what a reset keeps."""
    with _session(cluster) as session:
        keyspaces, roles = _schema(cluster, session)
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


def reset(
    cluster: LocalCluster,
    kept: dict[str, list[str]],
    timeout: float = 120.0,
    on_event: Callable[[str], None] | None = None,
) -> None:
    """Heal faults, bring every node UP and drop the keyspaces and roles not in ``kept``;
    ``on_event`` hears when each step is done."""
    say = on_event or (lambda message: None)
    heal_faults(cluster)
    say("faults healed")
    cluster.start(timeout=timeout)
    say("every node UP")
    with _session(cluster) as session:
        keyspaces, roles = _schema(cluster, session)
        dropped, dropped_roles = to_drop(keyspaces, roles, kept, cluster.state.username)
        for keyspace in dropped:
            session.execute(f"DROP KEYSPACE IF EXISTS {quote(keyspace)}", timeout=60)
        for role in dropped_roles:
            session.execute(f"DROP ROLE IF EXISTS {quote(role)}", timeout=60)
    say(f"dropped {len(dropped)} keyspaces and {len(dropped_roles)} roles")


@contextlib.contextmanager
def _session(cluster: LocalCluster) -> Iterator[Session]:
    """A superuser session on a running node of ``cluster``."""
    first = next(
        (n.plan.address for n in cluster.state.nodes if cluster.is_running(n)),
        cluster.state.nodes[0].plan.address,
    )
    if not nodes.port_open(first, cluster.info().port):
        raise ClusterError(f"cluster {cluster.name!r}: {first} does not answer CQL")
    driver, session = cluster.connect(first, cluster.login())
    try:
        yield session
    finally:
        driver.shutdown()


def _schema(cluster: LocalCluster, session: Session) -> tuple[set[str], set[str]]:
    rows = session.execute("SELECT keyspace_name FROM system_schema.keyspaces")
    keyspaces = {row.keyspace_name for row in rows}
    if not cluster.state.spec.authentication:
        # every client is anonymous, and anonymous clients cannot create roles; system_auth
        # may not even be readable yet on a node just started
        return keyspaces, set()
    return keyspaces, {row.role for row in session.execute("SELECT role FROM system_auth.roles")}

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

import concurrent.futures
import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cassandra.cluster import Cluster, ResponseFuture, Session
from cqlsuites.reset import quote, to_drop

from cqltest.errors import ClusterError
from cqltest.local import netfaults, nodes, probe
from cqltest.local.cluster import LocalCluster
from cqltest.local.readiness import wait_ready

Healer = Callable[[LocalCluster], None]
_healers: list[Healer] = []

#: Seconds one DROP may take on a busy machine (it flushes every table dirty in the commit log).
DDL_TIMEOUT = 60.0
_AGREEMENT_POLL = 0.2


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
    with _sessions(cluster) as sessions:
        keyspaces = set().union(*(view.keyspaces for view in _views(sessions).values()))
        roles = _roles(cluster, next(iter(sessions.values())))
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
    """Heal faults, bring every node UP, drop the keyspaces and roles not in ``kept`` and wait
    until every node's own schema holds none of them; ``on_event`` hears when each step is done.
    """
    say = on_event or (lambda message: None)
    heal_faults(cluster)
    say("faults healed")
    cluster.start(timeout=timeout)
    say("every node UP")
    with _sessions(cluster) as sessions:
        views = _views(sessions)
        seen = set().union(*(view.keyspaces for view in views.values()))
        roles = _roles(cluster, next(iter(sessions.values())))
        dropped, dropped_roles = to_drop(seen, roles, kept, cluster.state.username)
        _drop(sessions, views, dropped, dropped_roles)
        say(f"dropped {len(dropped)} keyspaces and {len(dropped_roles)} roles")
        _await_agreement(cluster, sessions, kept, timeout)
    say("every node agrees on the schema")


@dataclass(frozen=True)
class _View:
    """One node's own schema: its keyspaces and the version it computed from them."""

    keyspaces: frozenset[str]
    version: str


def _views(sessions: dict[str, Session]) -> dict[str, _View]:
    """Every node's schema, asked of all nodes at once."""
    futures = {
        address: (
            session.execute_async("SELECT keyspace_name FROM system_schema.keyspaces"),
            session.execute_async("SELECT schema_version FROM system.local"),
        )
        for address, session in sessions.items()
    }
    return {
        address: _View(
            frozenset(row.keyspace_name for row in keyspaces.result()),
            str(version.result().one().schema_version),
        )
        for address, (keyspaces, version) in futures.items()
    }


def _versions(sessions: dict[str, Session]) -> dict[str, str]:
    """Every node's own schema version, asked of all nodes at once."""
    futures = {
        address: session.execute_async("SELECT schema_version FROM system.local")
        for address, session in sessions.items()
    }
    return {a: str(future.result().one().schema_version) for a, future in futures.items()}


def _drop(
    sessions: dict[str, Session],
    views: dict[str, _View],
    keyspaces: list[str],
    roles: list[str],
) -> None:
    """Send every drop at once, each keyspace's to a node that has it (after a partition, a
    keyspace may exist on one side only); the agreement is awaited once, afterwards."""
    first = next(iter(sessions.values()))
    futures: list[ResponseFuture] = []
    for keyspace in keyspaces:
        owner = next(a for a, view in views.items() if keyspace in view.keyspaces)
        statement = f"DROP KEYSPACE IF EXISTS {quote(keyspace)}"
        futures.append(sessions[owner].execute_async(statement, timeout=DDL_TIMEOUT))
    futures += [
        first.execute_async(f"DROP ROLE IF EXISTS {quote(role)}", timeout=DDL_TIMEOUT)
        for role in roles
    ]
    for future in futures:
        future.result()


def _await_agreement(
    cluster: LocalCluster, sessions: dict[str, Session], kept: dict[str, list[str]], timeout: float
) -> None:
    """Return once every node's own schema holds nothing beyond ``kept`` and all nodes compute
    the same schema version; ClusterError naming what is left on which node after ``timeout``.

    Each node is asked for its own schema (``system.local``, ``system_schema``), which changes
    as soon as the drop reaches it, instead of the driver's agreement check, which reads the
    versions gossip spreads into ``system.peers`` a second or more later.
    """
    deadline = time.monotonic() + timeout
    while True:
        # only the versions while they differ: nodes busy applying the drops (each one flushes
        # every table dirty in their commit log) are asked one small query each per poll
        if len(set(_versions(sessions).values())) > 1 and time.monotonic() <= deadline:
            time.sleep(_AGREEMENT_POLL)
            continue
        views = _views(sessions)
        left = {
            address: to_drop(view.keyspaces, (), kept, None)[0] for address, view in views.items()
        }
        versions = {view.version for view in views.values()}
        if not any(left.values()) and len(versions) == 1:
            return
        if time.monotonic() > deadline:
            raise ClusterError(
                f"cluster {cluster.name!r}: the nodes did not agree on a schema without the "
                f"dropped keyspaces within {timeout:.0f}s: "
                + "; ".join(
                    f"{address} has version {views[address].version}, keyspaces left "
                    f"{left[address] or 'none'}"
                    for address in sorted(views)
                )
            )
        time.sleep(_AGREEMENT_POLL)


@contextlib.contextmanager
def _sessions(cluster: LocalCluster) -> Iterator[dict[str, Session]]:
    """A superuser session pinned to each node (connected all at once), in the cluster's order.

    Their drivers never wait for schema agreement after a change: :func:`reset` awaits it once,
    after all its drops, by asking every node itself.
    """
    addresses = [node.plan.address for node in cluster.state.nodes]
    for address in addresses:
        if not nodes.port_open(address, cluster.info().port):
            raise ClusterError(f"cluster {cluster.name!r}: {address} does not answer CQL")
    credentials = cluster.login()
    with concurrent.futures.ThreadPoolExecutor(len(addresses)) as pool:
        connecting = [pool.submit(cluster.connect, address, credentials) for address in addresses]
    drivers: list[Cluster] = []
    failure: BaseException | None = None
    for address, future in zip(addresses, connecting, strict=True):
        try:
            drivers.append(future.result()[0])
        except Exception as exc:
            failure = failure or ClusterError(
                f"cluster {cluster.name!r}: no CQL session on {address}: {exc}"
            )
    try:
        if failure is not None:
            raise failure
        sessions = {}
        for address, future in zip(addresses, connecting, strict=True):
            driver, session = future.result()
            driver.max_schema_agreement_wait = 0
            sessions[address] = session
        yield sessions
    finally:
        for driver in drivers:
            driver.shutdown()


def _roles(cluster: LocalCluster, session: Session) -> set[str]:
    if not cluster.state.spec.authentication:
        # every client is anonymous, and anonymous clients cannot create roles; system_auth
        # may not even be readable yet on a node just started
        return set()
    return {row.role for row in session.execute("SELECT role FROM system_auth.roles")}

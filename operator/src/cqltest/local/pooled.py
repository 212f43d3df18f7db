"""``spec.cluster.reuse``: the run's cluster comes from a pool and goes back to it.

The handle claims a cluster of the run's shape (:func:`shape_of`: everything that makes two
LocalClusters interchangeable for a suite) from the pool's book (:mod:`cqltest.local.pool`):
a warm one after a health check (a failing one is destroyed and replaced), or a new one it
provisions into the pool. At the end of the run, whatever the teardown policy, the cluster is
reset (:mod:`cqltest.local.reset`) and released for the next claim; if the reset fails, it is
destroyed instead. A run that dies holding a claim leaves it to expire (see the pool's book).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING

from cqltest.local.handles import EventCallback, connection_of, local_spec
from cqltest.local.pool import Claimant, Limits, Pool, Ticket
from cqltest.model import ClusterSpec
from cqltest.render.environment import Connection

if TYPE_CHECKING:
    from cqltest.local import ClusterSpec as LocalSpec
    from cqltest.local import LocalCluster


def shape_of(spec: LocalSpec) -> tuple[str, str]:
    """A stable hash of what makes clusters interchangeable, and a short text for people.

    The name is not part of it; the version is resolved, so "the default version" and the
    version it names are one shape.
    """
    from cqltest.local import jars

    fields = asdict(replace(spec, name="", version=jars.resolve_version(spec.version)))
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]
    dcs = " ".join(f"{dc.name}:{dc.nodes}" for dc in spec.datacenters)
    extras = [
        flag
        for flag, on in (
            ("auth", spec.authentication),
            ("client-tls", spec.client_tls),
            ("internode-tls", spec.internode_tls),
        )
        if on
    ]
    text = " ".join([fields["version"], dcs, f"heap {spec.heap}", *extras])
    return digest, text


def limits_of(cluster: ClusterSpec) -> Limits:
    policy = cluster.pool_policy
    if policy is None:
        return Limits()
    return Limits(
        max_clusters=policy.max_clusters,
        max_per_shape=policy.max_per_shape,
        idle_ttl=policy.idle_ttl.total_seconds(),
        claim_timeout=policy.claim_timeout.total_seconds(),
    )


def pool_root(root: Path | None) -> Path:
    from cqltest.local import state

    return root if root is not None else state.default_root()


class PooledCluster:
    """A cluster claimed from ``spec.cluster.pool`` for one run."""

    def __init__(self, cluster: ClusterSpec, run: str, root: Path | None) -> None:
        from cqltest.local import jars

        # like ProvisionedCluster: a bad JDK or version is a setup error before any claim
        jars.resolve_version(cluster.server_version)
        jars.find_java()
        self.spec = cluster
        self.run = run
        self.pool = Pool(cluster.pool_name, pool_root(root))
        self.limits = limits_of(cluster)
        self.name: str | None = None
        self.claimed_warm: bool | None = None
        self._ticket: Ticket | None = None
        self._cluster: LocalCluster | None = None
        self._lock = threading.Lock()
        self._cancelled = False
        self._ready = False
        self._released = False
        #: ``on_reset(step)``: the reset's progress when the cluster is given back.
        self.on_reset: Callable[[str], None] | None = None

    def start(self, timeout: float, on_event: EventCallback) -> Connection:
        from cqltest.local import LocalCluster, reset

        shape, text = shape_of(local_spec(self.spec, "shape"))
        ticket = self.pool.claim(
            shape,
            text,
            self.limits,
            Claimant.current(self.run),
            on_wait=on_event,
            cancelled=lambda: self._cancelled,
        )
        with self._lock:
            self._ticket, self.name = ticket, ticket.name
        if ticket.warm:
            if not LocalCluster.exists(ticket.name, self.pool.root):
                problem: str | None = "its directory is gone (cqltest cluster down?)"
            else:
                cluster = LocalCluster.load(ticket.name, self.pool.root)
                try:
                    problem = reset.health_problem(cluster)
                    if problem is None and ticket.dirty:
                        problem = _reset_problem(cluster, ticket.baseline)
                except BaseException:
                    self.pool.abandon(ticket)  # the next claim checks (and resets) it again
                    raise
            if problem is None:
                on_event(f"claimed warm cluster {ticket.name} from pool {self.pool.name!r}")
            else:
                on_event(f"pool cluster {ticket.name} is unhealthy ({problem}); replacing it")
                self.pool.destroy(ticket.name)
                ticket = self.pool.reprovision(ticket)
                with self._lock:
                    self._ticket, self.name = ticket, ticket.name
        if not ticket.warm:
            cluster = self._provision(ticket, timeout, on_event)
        with self._lock:
            self._cluster = cluster
            self.claimed_warm = ticket.warm
            cancelled = self._cancelled
            self._ready = True
        if cancelled:
            self._give_back()
            raise RuntimeError("the run was interrupted while its cluster was being claimed")
        return connection_of(cluster.info(), self.spec)

    def _provision(self, ticket: Ticket, timeout: float, on_event: EventCallback) -> LocalCluster:
        from cqltest.local import LocalCluster, reset

        on_event(f"creating cluster {ticket.name} in pool {self.pool.name!r}")
        try:
            cluster = LocalCluster.create(local_spec(self.spec, ticket.name), root=self.pool.root)
            try:
                cluster.start(
                    timeout=timeout, on_event=lambda node, message: on_event(f"{node}: {message}")
                )
                kept = reset.baseline(cluster)
            except BaseException:
                cluster.destroy()
                raise
        except BaseException:
            self.pool.forget(ticket)
            raise
        ticket = self.pool.provisioned(ticket, kept)
        with self._lock:
            self._ticket = ticket
        return cluster

    def teardown(self) -> None:
        """Return the cluster to the pool (a pooled cluster is never torn down by a run)."""
        with self._lock:
            self._cancelled = True
            ready = self._ready
        if ready:
            self._give_back()

    def release(self) -> None:
        self.teardown()

    def _give_back(self) -> None:
        with self._lock:
            if self._released or self._ticket is None or self._cluster is None:
                return
            self._released = True
            ticket, cluster = self._ticket, self._cluster
        problem = _reset_problem(cluster, ticket.baseline, self.on_reset)
        if problem is None:
            self.pool.release(ticket, self.limits.idle_ttl)
        else:
            cluster.destroy()
            self.pool.forget(ticket)


def _reset_problem(
    cluster: LocalCluster,
    kept: dict[str, list[str]],
    on_event: Callable[[str], None] | None = None,
) -> str | None:
    from cqltest.errors import CqltestError
    from cqltest.local import reset

    try:
        reset.reset(cluster, kept, on_event=on_event)
    except (CqltestError, OSError) as exc:
        return f"reset failed: {exc}"
    except Exception as exc:  # the driver's errors: the cluster is not fit to hand out
        return f"reset failed: {type(exc).__name__}: {exc}"
    return None

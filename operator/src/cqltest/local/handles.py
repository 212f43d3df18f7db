"""The cluster a local run uses: one it provisions (a LocalCluster) or an existing one it reaches.

The run loop (:mod:`cqltest.local.backend`) only starts, releases or tears down a
:class:`ClusterHandle`; what each of those means for a provisioned or an attached cluster, and
how a TestRun's ``spec.cluster`` becomes a LocalCluster spec, is here.
"""

from __future__ import annotations

import os
import re
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cqltest.errors import InputError
from cqltest.model import ClusterSpec, ExistingCluster
from cqltest.render.environment import Connection

if TYPE_CHECKING:
    from cqltest.local import ClusterInfo
    from cqltest.local import ClusterSpec as LocalSpec

EventCallback = Callable[[str], None]
"""Provisioning progress, e.g. ``node1: answering CQL``; shown while the cluster starts."""
_CLUSTER_NAME_MAX = 40


class ClusterHandle(Protocol):
    """A cluster the run provisions or attaches to."""

    name: str | None

    def start(self, timeout: float, on_event: EventCallback) -> Connection: ...

    def teardown(self) -> None: ...

    def release(self) -> None:
        """The run is over and ``teardown`` was not called: the cluster stays (policy)."""


class ProvisionedCluster:
    """A real LocalCluster created for this run from ``spec.cluster``."""

    def __init__(self, cluster: ClusterSpec, run: str, root: Path | None) -> None:
        require_runtime(cluster)
        self.spec = cluster
        self.run = run
        self.root = root
        self.name: str | None = None
        self._cluster: Any = None
        self._lock = threading.Lock()
        self._cancelled = False

    def start(self, timeout: float, on_event: EventCallback) -> Connection:
        from cqltest.local import LocalCluster

        with self._lock:
            if self._cancelled:
                raise RuntimeError("the run was interrupted before the cluster was created")
            # a crashed earlier run's cluster is reaped first, so its name is free again
            LocalCluster.reap_orphans()
            self.name = free_cluster_name(self.run, LocalCluster.list(self.root))
            local = local_spec(self.spec, self.name)
            on_event(f"creating cluster {self.name} (fetching jars on first use)")
            # owned: if this process dies mid-run, the next cluster created on the machine
            # reaps this one instead of leaving its JVMs running; but a cluster meant to be
            # kept whatever happens (teardown Never, --keep-cluster) is never anyone's orphan
            self._cluster = LocalCluster.create(
                local, root=self.root, owned=self.spec.teardown != "Never"
            )
        info = self._cluster.start(
            timeout=timeout, on_event=lambda node, message: on_event(f"{node}: {message}")
        )
        return connection_of(info, self.spec)

    def teardown(self) -> None:
        with self._lock:
            self._cancelled = True
            cluster = self._cluster
        if cluster is not None:
            cluster.destroy()

    def release(self) -> None:
        with self._lock:
            cluster = self._cluster
        if cluster is not None:
            cluster.disown()


class AttachedCluster:
    """``spec.cluster.existing``: nothing to create or delete, only to reach."""

    def __init__(self, cluster: ClusterSpec, existing: ExistingCluster, base_dir: Path) -> None:
        if existing.contact_points is None:
            raise InputError(
                f"spec.cluster.existing.k8ssandraCluster={existing.k8ssandra_cluster!r}: a "
                "K8ssandraCluster is only reachable in operator mode; in local mode give "
                "contactPoints"
            )
        self.contact_points = existing.contact_points
        self.spec = cluster
        # Like suite paths, a relative caPath means relative to the manifest's directory.
        ca_path = str((base_dir / existing.ca_path).resolve()) if existing.ca_path else None
        self.existing = existing.model_copy(
            update={"password": existing_password(existing), "ca_path": ca_path}
        )
        self.name: str | None = None

    def start(self, timeout: float, on_event: EventCallback) -> Connection:
        ex = self.existing
        on_event(f"attaching to {', '.join(self.contact_points)}")
        errors = []
        for host in self.contact_points:
            try:
                with socket.create_connection((host, ex.port), timeout=min(timeout, 5.0)):
                    break
            except OSError as exc:
                errors.append(f"{host}:{ex.port}: {exc.strerror or exc}")
        else:
            raise ConnectionError("no contact point accepts connections: " + "; ".join(errors))
        return _connection(ex, self.spec, ex.local_datacenter)

    def teardown(self) -> None:
        """An existing cluster is never deleted."""

    def release(self) -> None:
        """Nothing of it was ever this run's."""


def require_runtime(cluster: ClusterSpec) -> None:
    """Check, before anything starts, what a cluster of ``cluster`` needs on this machine: a
    missing or wrong JDK and an unknown Cassandra version are setup errors (exit 2) with nothing
    provisioned, not a failed run."""
    from cqltest.local import jars

    jars.resolve_version(cluster.server_version)
    jars.find_java()


def existing_password(existing: ExistingCluster) -> str | None:
    """The password of an existing cluster: inline, or from the environment variable named."""
    if existing.password is not None:
        return existing.password
    source = existing.password_from
    if source is None:
        return None
    if source.env is None:
        raise InputError(
            "spec.cluster.existing.passwordFrom.secretKeyRef only works in operator mode; "
            "in local mode use passwordFrom.env"
        )
    value = os.environ.get(source.env)
    if value is None:
        raise InputError(
            f"spec.cluster.existing.passwordFrom.env: environment variable {source.env} is not set"
        )
    return value


def local_spec(cluster: ClusterSpec, name: str) -> LocalSpec:
    """The LocalCluster spec of a TestRun's ``spec.cluster``."""
    from cqltest.local import ClusterSpec as LocalSpec
    from cqltest.local import DatacenterSpec

    security = cluster.security
    return LocalSpec(
        name=name,
        datacenters=[
            DatacenterSpec(name=dc.name, nodes=dc.size, racks=list(dc.racks or []))
            for dc in cluster.datacenters
        ],
        authentication=security.authentication,
        client_tls=security.tls.client,
        internode_tls=security.tls.internode,
        version=cluster.server_version,
        heap=local_heap(cluster.resources.heap if cluster.resources else None),
    )


def connection_of(info: ClusterInfo, cluster: ClusterSpec) -> Connection:
    """How suites reach a started LocalCluster (the first datacenter is their local one)."""
    return _connection(info, cluster, cluster.datacenters[0].name)


def _connection(
    reach: ClusterInfo | ExistingCluster, cluster: ClusterSpec, local_dc: str
) -> Connection:
    """A started LocalCluster's address and credentials, or an existing cluster's (its password
    and CA path resolved), with the topology the TestRun declares."""
    return Connection(
        contact_points=tuple(reach.contact_points or ()),
        port=reach.port,
        local_dc=local_dc,
        username=reach.username,
        password=reach.password,
        ca_path=reach.ca_path,
        topology=topology_of(cluster),
    )


def topology_of(cluster: ClusterSpec) -> dict[str, dict[str, int]]:
    return {
        dc.name: {"nodes": dc.size, "replicationFactor": dc.effective_replication_factor}
        for dc in cluster.datacenters
    }


def local_heap(quantity: str | None) -> str:
    """A Kubernetes quantity (``512Mi``, ``1Gi``, ``1G``) as a JVM heap size for LocalCluster."""
    if quantity is None:
        return "256M"
    match = re.fullmatch(r"([0-9]+)(?:\.[0-9]+)?(Mi|M|Gi|G)", quantity)
    if match is None:
        raise InputError(
            f"spec.cluster.resources.heap={quantity!r}: local mode needs a whole number of "
            "Mi/M or Gi/G, e.g. 512Mi or 1Gi"
        )
    return f"{match.group(1)}{match.group(2)[0]}"


def free_cluster_name(run: str, existing: Any) -> str:
    """A LocalCluster name derived from the run, not clashing with a kept earlier cluster."""
    taken = {getattr(c, "name", c) for c in existing}
    base = re.sub(r"[^a-z0-9_-]+", "-", run.lower()).strip("-_")[:_CLUSTER_NAME_MAX] or "run"
    base = base.rstrip("-_") or "run"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name

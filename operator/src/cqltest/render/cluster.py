"""Helm values for ``charts/cqltest-cluster``: one K8ssandraCluster per TestRun or pool slot.

The operator installs one Helm release per TestRun; this module turns the run's ``spec.cluster``
into that release's values, and names the things the rest of the operator has to find again (the
release, the K8ssandraCluster, its superuser Secret). It is pure: same run, same values, so an
operator restarted halfway through provisioning renders exactly what it rendered before and
``helm upgrade --install`` is a no-op.

Names are the delicate part. The K8ssandraCluster's name is Cassandra's ``cluster_name`` and
prefixes everything cass-operator creates: StatefulSets ``<cluster>-<dc>-<rack>-sts`` (its
webhook rejects more than 60 characters) and per-DC Services up to
``<cluster>-<dc>-additional-seed-service`` (a DNS-1035 label, at most 63). So the cluster takes
the run's name when that fits beside the longest datacenter and rack names, and otherwise a
shortened prefix plus a hash of the full run name, which keeps it deterministic and distinct
between runs that share a long prefix.

Chart defaults (heap, memory, cpu, storage, management API heap) live in the chart's
``values.yaml`` only; this module sets just what the TestRun says, plus the container memory a
bigger heap needs, so the two never disagree about a default.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cqltest.engine.names import label_value
from cqltest.errors import InputError
from cqltest.model import ClusterSpec

CHART = "cqltest-cluster"
#: The Cassandra version a TestRun without ``serverVersion`` gets; the same pin as local mode's
#: ``cqltest.local.jars.DEFAULT_VERSION`` (a unit test keeps them equal).
DEFAULT_SERVER_VERSION = "5.0.9"

#: cass-operator's webhook limit on ``<cluster>-<dc>-<rack>-sts`` (``validateStatefulsetNameSize``).
STATEFULSET_NAME_LIMIT = 60
#: Service names are DNS-1035 labels.
SERVICE_NAME_LIMIT = 63
#: The longest per-DC Service suffix cass-operator appends to ``<cluster>-<dc>``.
LONGEST_DC_SERVICE_SUFFIX = "-additional-seed-service"
#: Helm refuses release names longer than 53 characters.
RELEASE_NAME_LIMIT = 53
#: K8ssandra gives a datacenter without racks one rack of this name.
DEFAULT_RACK = "default"
#: Racks shorter than this are refused by the CassandraDatacenter schema.
MIN_RACK_NAME = 2

_HASH = 6
_MIB = 1024 * 1024
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")
_FACTORS = {
    None: 1,
    "m": 0.001,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}
#: Container memory for a given heap: twice the heap (off-heap buffers, the page cache Cassandra
#: leans on) plus room for the management API's own JVM.
_MEMORY_HEADROOM = 256 * _MIB


@dataclass(frozen=True)
class TlsSecrets:
    """Names of the Secrets holding a run's TLS material (see :mod:`cqltest.render.tls`).

    ``client`` and ``internode`` are encryption-store Secrets (keys ``keystore``, ``truststore``,
    ``keystore-password``, ``truststore-password``) or None when that kind of TLS is off; ``ca``
    holds ``ca.crt`` for the suites' pods.
    """

    ca: str
    client: str | None = None
    internode: str | None = None


@dataclass(frozen=True)
class PoolValues:
    """What marks a pooled cluster's release: its pool, labels (shape) and first claim."""

    pool: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:_HASH]


def fit_name(name: str, limit: int, key: str, *, sanitized: bool = False) -> str:
    """``name`` if it fits ``limit``, else its prefix and a hash of ``key`` (the full input).

    The hash keeps shortened names deterministic and apart for inputs sharing a long prefix. A
    ``sanitized`` name (``a.b`` written ``a-b``) always gets it, so it cannot collide with the
    name derived from an input that was ``a-b`` to begin with.
    """
    if len(name) <= limit and not sanitized:
        return name
    return f"{name[: limit - _HASH - 1].rstrip('-')}-{_digest(key)}"


def release_name(run_name: str) -> str:
    """The Helm release of a run's cluster: ``cqltest-<run>``, hashed to fit Helm's 53."""
    name = f"cqltest-{run_name.replace('.', '-')}"
    return fit_name(name, RELEASE_NAME_LIMIT, run_name, sanitized="." in run_name)


def _racks(cluster: ClusterSpec) -> list[tuple[str, str]]:
    return [(dc.name, rack) for dc in cluster.datacenters for rack in dc.racks or [DEFAULT_RACK]]


def _check_names(cluster: ClusterSpec) -> None:
    """Names K8ssandra refuses but a TestRun allows; caught here, before anything is created."""
    for i, dc in enumerate(cluster.datacenters):
        if not dc.name[0].isalpha():
            raise InputError(
                f"spec.cluster.datacenters[{i}].name: {dc.name!r} must start with a letter: "
                "K8ssandra names Services after datacenters (DNS-1035 labels)"
            )
        for j, rack in enumerate(dc.racks or []):
            if len(rack) < MIN_RACK_NAME:
                raise InputError(
                    f"spec.cluster.datacenters[{i}].racks[{j}]: {rack!r} is too short: K8ssandra "
                    f"rack names have at least {MIN_RACK_NAME} characters"
                )


def cluster_name(run_name: str, cluster: ClusterSpec) -> str:
    """The K8ssandraCluster (and Cassandra cluster) name of a run; deterministic, short enough.

    Raises InputError when even a hashed name cannot fit beside the datacenter and rack names.
    """
    if not cluster.datacenters:
        raise ValueError("an existing cluster has no K8ssandraCluster name of its own")
    racks = _racks(cluster)
    budget = min(
        [STATEFULSET_NAME_LIMIT - len("---sts") - len(dc) - len(rack) for dc, rack in racks]
        + [
            SERVICE_NAME_LIMIT - len(LONGEST_DC_SERVICE_SUFFIX) - 1 - len(dc.name)
            for dc in cluster.datacenters
        ]
    )
    if budget < _HASH + 2:
        dc, rack = max(racks, key=lambda pair: len(pair[0]) + len(pair[1]))
        raise InputError(
            f"spec.cluster.datacenters: datacenter {dc!r} with rack {rack!r} leaves no room for "
            f"a cluster name in <cluster>-{dc}-{rack}-sts ({STATEFULSET_NAME_LIMIT} characters) "
            f"or <cluster>-{dc}{LONGEST_DC_SERVICE_SUFFIX} ({SERVICE_NAME_LIMIT}); "
            "use shorter names"
        )
    base = run_name.replace(".", "-")
    if not base[0].isalpha():
        base = f"c{base}"  # Service names derived from it must start with a letter
    return fit_name(base, budget, run_name, sanitized=base != run_name)


def superuser_secret_name(cluster: str) -> str:
    """The superuser Secret K8ssandra generates when none is given (``username``, ``password``)."""
    return f"{cluster}-superuser"


def datacenter_service(cluster: str, datacenter: str) -> str:
    """The headless Service of a datacenter's ready nodes: the suites' contact point."""
    return f"{cluster}-{datacenter}-service"


def _bytes(quantity: str) -> float:
    match = _QUANTITY.match(quantity)
    if match is None:
        raise InputError(f"{quantity!r} is not a Kubernetes quantity")
    return float(match.group(1)) * _FACTORS[match.group(2)]


def memory_for_heap(heap: str) -> str:
    """Container memory for a node with this JVM heap, in whole MiB."""
    mib = -(-int(2 * _bytes(heap) + _MEMORY_HEADROOM) // _MIB)
    return f"{mib}Mi"


def server_version(cluster: ClusterSpec) -> str:
    """The full ``x.y.z`` version K8ssandra needs: ``5.0`` means the pin when it is a 5.0."""
    version = cluster.server_version or DEFAULT_SERVER_VERSION
    if version.count(".") == 2:
        return version
    if DEFAULT_SERVER_VERSION.startswith(f"{version}."):
        return DEFAULT_SERVER_VERSION
    return f"{version}.0"


def _resources(cluster: ClusterSpec) -> dict[str, Any]:
    values: dict[str, Any] = {}
    spec = cluster.resources
    if spec is None:
        return values
    if spec.heap is not None:
        values["heap"] = spec.heap
    node: dict[str, str] = {}
    if spec.cpu is not None:  # what the run asks for, it gets: request = limit
        node["cpu"] = node["cpuRequest"] = spec.cpu
    if spec.memory is not None:
        node["memory"] = spec.memory
    elif spec.heap is not None:
        node["memory"] = memory_for_heap(spec.heap)
    if node:
        values["resources"] = node
    storage: dict[str, str] = {}
    if spec.storage is not None:
        storage["size"] = spec.storage
    if spec.storage_class_name is not None:
        storage["storageClassName"] = spec.storage_class_name
    if storage:
        values["storage"] = storage
    return values


def _store(kind: str, enabled: bool, secret: str | None) -> dict[str, Any]:
    if not enabled:
        return {"enabled": False, "storesSecret": ""}
    if not secret:
        raise ValueError(f"{kind} TLS is on but no {kind} encryption-store Secret was given")
    return {"enabled": True, "storesSecret": secret}


def cluster_values(
    run_name: str,
    cluster: ClusterSpec,
    *,
    tls_secrets: TlsSecrets | None,
    superuser_secret: str | None,
    superuser_credentials: tuple[str, str] | None = None,
    owner: Mapping[str, str] | None = None,
    pool: PoolValues | None = None,
) -> dict[str, Any]:
    """The ``charts/cqltest-cluster`` values for a run's provisioned cluster.

    ``tls_secrets`` names the encryption-store Secrets the operator created (required for each
    kind of TLS the spec turns on); ``superuser_secret`` names an existing Secret with
    ``username``/``password`` for ``superuserSecretRef`` (None: K8ssandra generates
    ``<cluster>-superuser``); ``superuser_credentials`` (username, password) makes the chart
    render that Secret itself (named ``superuser_secret`` or ``<cluster>-superuser``); ``owner``
    is an ownerReference (apiVersion, kind, name, uid) put on every object of the release, so
    deleting the TestRun collects them. A ``pool`` cluster (``run_name`` is then its release)
    belongs to no run: no ``testRun`` label, the pool's label on it and its node pods instead,
    and its first claim as the K8ssandraCluster's annotations.
    """
    if cluster.existing is not None:
        raise ValueError("an existing cluster is attached, not provisioned: no chart values")
    _check_names(cluster)
    tls = cluster.security.tls
    secrets = tls_secrets or TlsSecrets(ca="")
    values: dict[str, Any] = {
        "clusterName": cluster_name(run_name, cluster),
        "testRun": label_value(run_name),
        "serverVersion": server_version(cluster),
        "auth": cluster.security.authentication,
        "datacenters": [
            {"name": dc.name, "size": dc.size, "racks": list(dc.racks or [])}
            for dc in cluster.datacenters
        ],
        "encryption": {
            "client": _store("client", tls.client, secrets.client),
            "internode": _store("internode", tls.internode, secrets.internode),
        },
        **_resources(cluster),
    }
    superuser: dict[str, Any] = {}
    if superuser_secret is not None:
        superuser["secretName"] = superuser_secret
    if superuser_credentials is not None:
        username, password = superuser_credentials
        superuser.update(create=True, username=username, password=password)
    if superuser:
        values["superuser"] = superuser
    if owner is not None:
        values["owner"] = dict(owner)
    if pool is not None:
        del values["testRun"]
        values.update(pool=pool.pool, labels=dict(pool.labels), annotations=dict(pool.annotations))
    return values

"""A K8ssandraCluster object → the local cluster that serves it, or an error naming the field.

Pure: the controller calls :func:`translate` with the object as the apiserver returns it, and
writes a :class:`SpecError`'s message to ``status.error`` (as k8ssandra-operator reports what
its webhook or reconcile rejects). The rules are the contract's (``shared/reference/
k8ssandra.md`` §1, §3): DatacenterOptions on ``spec.cassandra`` merged under each DC's own,
``serverVersion`` and ``storageConfig`` required at one of the two levels, TLS on only when the
stores are referenced *and* cassandraYaml turns it on, resource names from the sanitized
cluster name. What a local cluster cannot do (other Cassandra lines, per-DC versions or heaps,
remote contexts, stopped DCs) is refused with a message saying so, never silently ignored.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cqltest.errors import InputError
from cqltest.local.topology import ClusterSpec, DatacenterSpec, validate_heap
from cqltest.localkube.errors import LocalkubeError

#: cass-operator's limit on ``<cluster>-<dc>-<rack>-sts`` (its webhook rejects longer names).
MAX_STATEFULSET_NAME = 60
DEFAULT_RACK = "default"
_LOCAL_VERSION = re.compile(r"^5\.0\.[0-9]+$")
_LOCAL_NAME = re.compile(r"^[a-z0-9]([a-z0-9_-]{0,46}[a-z0-9])?$")
_QUANTITY = re.compile(r"^([0-9]+)(Ki|Mi|Gi|K|k|M|G|m|g)?$")
_MIB = {"Ki": 1 / 1024, "K": 1000 / 2**20, "k": 1000 / 2**20, "Mi": 1, "M": 1, "m": 1}
_MIB.update({"Gi": 1024, "G": 1024, "g": 1024})


class SpecError(LocalkubeError):
    """A K8ssandraCluster the stand-in cannot serve; the message names the field and why."""


@dataclass(frozen=True)
class SecretKey:
    """One key of one Secret in the K8ssandraCluster's namespace; an ``optional`` key may be
    absent (a password looked up under its default key when no ``*PasswordSecretRef`` is given:
    PEM stores usually have none)."""

    secret: str
    key: str
    optional: bool = False


@dataclass(frozen=True)
class StoresRef:
    """Where a store set's files and passwords are."""

    keystore: SecretKey
    truststore: SecretKey
    keystore_password: SecretKey
    truststore_password: SecretKey


@dataclass(frozen=True)
class DatacenterPlan:
    key: str  #: metadata.name: the key of status.datacenters
    label: str  #: ``<dc>`` in resource names: the sanitized datacenterName, else metadata.name
    cassandra_name: str  #: the DC name Cassandra (and a driver's local_dc) sees
    size: int
    racks: tuple[str, ...]
    #: ``metadata.commonLabels`` of the cluster merged with the DC's (the DC's win): labels of
    #: the DC's Pods. Not compared: a label change alone does not ask for a new local cluster;
    #: it reaches Pods created after it (a node Pod deleted and recreated).
    common_labels: tuple[tuple[str, str], ...] = dataclasses.field(default=(), compare=False)


@dataclass(frozen=True)
class Translation:
    namespace: str
    name: str
    local_name: str  #: the LocalCluster's name (its directory under the stand-in's root)
    cluster_label: str  #: ``<cluster>`` in resource names
    cassandra_name: str  #: cluster_name in cassandra.yaml
    version: str
    heap: str
    authentication: bool
    datacenters: tuple[DatacenterPlan, ...]
    superuser_secret: str
    generate_superuser: bool
    client_stores: StoresRef | None
    internode_stores: StoresRef | None

    def cluster_spec(
        self,
        superuser: tuple[str, str],
        client_stores: str | None = None,
        internode_stores: str | None = None,
    ) -> ClusterSpec:
        """The local cluster, given the superuser's credentials and the stores' directories."""
        return ClusterSpec(
            name=self.local_name,
            datacenters=[
                DatacenterSpec(dc.cassandra_name, dc.size, list(dc.racks))
                for dc in self.datacenters
            ],
            authentication=self.authentication,
            client_tls=self.client_stores is not None,
            internode_tls=self.internode_stores is not None,
            version=self.version,
            heap=self.heap,
            cassandra_name=self.cassandra_name,
            superuser=superuser[0],
            superuser_password=superuser[1],
            client_stores=client_stores,
            internode_stores=internode_stores,
        )


def cleanup_for_kubernetes(name: str) -> str:
    """cass-operator's ``CleanupForKubernetes``: lowercase, ``_`` → ``-``, invalid chars dropped."""
    return re.sub(r"[^a-z0-9.-]", "", name.lower().replace("_", "-"))


def local_name(namespace: str, name: str) -> str:
    """A LocalCluster name unique per namespace/name (``_`` appears in neither), shortened with a
    hash when it would break the local naming rule, so a restarted controller finds it again."""
    plain = f"{namespace}_{name}"
    if _LOCAL_NAME.match(plain):
        return plain
    digest = hashlib.sha256(f"{namespace}/{name}".encode()).hexdigest()[:8]
    stem = re.sub(r"[^a-z0-9_-]", "-", plain)[:39].rstrip("_-")
    return f"{stem}_{digest}"


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """k8ssandra-operator's Coalesce: the DC's values win, maps merged key by key."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def heap_size(value: object, path: str) -> str:
    """A Kubernetes quantity (``512Mi``, ``1G``, bytes) as an -Xmx value in megabytes."""
    match = _QUANTITY.match(str(value).strip())
    if not match:
        raise SpecError(f"{path}: {value!r} is not a memory size (expected e.g. 512Mi or 1G)")
    number, unit = int(match.group(1)), match.group(2)
    megabytes = int(number / 2**20) if unit is None else int(number * _MIB[unit])
    heap = f"{megabytes}M"
    try:
        return validate_heap(heap)
    except InputError as exc:
        raise SpecError(f"{path}: {exc}") from None


def _heap(jvm: Mapping[str, Any], path: str) -> str | None:
    for field in ("heap_max_size", "heap_initial_size", "heapSize"):
        if jvm.get(field) is not None:
            return heap_size(jvm[field], f"{path}.config.jvmOptions.{field}")
    return None


def _stores(cassandra: Mapping[str, Any], field: str) -> StoresRef | None:
    stores = cassandra.get(field)
    if not stores:
        return None

    def ref(name: str, default_secret: str | None, default_key: str) -> SecretKey:
        given = stores.get(name) or {}
        secret = given.get("name") or default_secret
        if not secret:
            raise SpecError(f"spec.cassandra.{field}.{name}.name is required")
        return SecretKey(secret, given.get("key") or default_key, optional=not given)

    keystore = ref("keystoreSecretRef", None, "keystore")
    truststore = ref("truststoreSecretRef", None, "truststore")
    return StoresRef(
        keystore=keystore,
        truststore=truststore,
        keystore_password=ref("keystorePasswordSecretRef", keystore.secret, "keystore-password"),
        truststore_password=ref(
            "truststorePasswordSecretRef", truststore.secret, "truststore-password"
        ),
    )


def _tls_flags(cassandra_yaml: Mapping[str, Any]) -> tuple[bool, bool]:
    """(client on, internode on) as cassandraYaml asks, before looking at the stores."""
    client = cassandra_yaml.get("client_encryption_options") or {}
    server = cassandra_yaml.get("server_encryption_options") or {}
    internode = str(server.get("internode_encryption") or "none").lower()
    return client.get("enabled") is True, internode != "none"


def _one(values: dict[str, Any], what: str) -> Any:
    """The local cluster runs one JVM configuration: every DC must agree on ``what``."""
    distinct = {repr(v): v for v in values.values()}
    if len(distinct) > 1:
        detail = ", ".join(f"{dc}: {v}" for dc, v in values.items())
        raise SpecError(
            f"datacenters differ in {what} ({detail}); the local stand-in runs one {what} "
            "for the whole cluster"
        )
    return next(iter(distinct.values()))


def _common_labels(
    cassandra: Mapping[str, Any], dc: Mapping[str, Any]
) -> tuple[tuple[str, str], ...]:
    labels = {
        **((cassandra.get("metadata") or {}).get("commonLabels") or {}),
        **((dc.get("metadata") or {}).get("commonLabels") or {}),
    }
    return tuple(sorted((str(k), str(v)) for k, v in labels.items()))


def _datacenter(
    index: int, dc: Mapping[str, Any], cluster_label: str
) -> tuple[DatacenterPlan, str, Mapping[str, Any]]:
    path = f"spec.cassandra.datacenters[{index}]"
    key = (dc.get("metadata") or {}).get("name")
    if not key:
        raise SpecError(f"{path}.metadata.name is required")
    if dc.get("k8sContext"):
        raise SpecError(
            f"{path}.k8sContext {dc['k8sContext']!r}: localkube serves one Kubernetes "
            "cluster; remove k8sContext"
        )
    if dc.get("stopped"):
        raise SpecError(f"{path}.stopped: stopped datacenters are not supported by localkube")
    size = dc.get("size")
    if not isinstance(size, int) or size < 1:
        raise SpecError(f"{path}.size {size!r}: must be at least 1")
    cassandra_name = dc.get("datacenterName") or key
    label = cleanup_for_kubernetes(dc["datacenterName"]) if dc.get("datacenterName") else key
    racks = tuple(r.get("name") or "" for r in dc.get("racks") or []) or (DEFAULT_RACK,)
    for rack in racks:
        sts = f"{cluster_label}-{label}-{rack}-sts"
        if len(sts) > MAX_STATEFULSET_NAME:
            raise SpecError(
                f"{path}: StatefulSet name {sts!r} is {len(sts)} characters, more than "
                f"{MAX_STATEFULSET_NAME}; use shorter cluster, datacenter or rack names"
            )
    return DatacenterPlan(key, label, cassandra_name, size, racks), path, dc


def translate(body: Mapping[str, Any]) -> Translation:
    """The local cluster for a K8ssandraCluster ``body``; raises SpecError naming the field."""
    metadata = body.get("metadata") or {}
    namespace, name = metadata.get("namespace") or "default", metadata["name"]
    spec = body.get("spec") or {}
    cassandra = spec.get("cassandra")
    if not cassandra:
        raise SpecError("spec.cassandra is required (the stand-in serves Cassandra only)")
    if (cassandra.get("serverType") or "cassandra") != "cassandra":
        raise SpecError(f"spec.cassandra.serverType {cassandra['serverType']!r}: only cassandra")
    cassandra_name = cassandra.get("clusterName") or name
    if "'" in cassandra_name:
        raise SpecError(f"spec.cassandra.clusterName {cassandra_name!r}: no quotes allowed")
    cluster_label = cleanup_for_kubernetes(cassandra_name)
    datacenters = cassandra.get("datacenters") or []
    if not datacenters:
        raise SpecError("spec.cassandra.datacenters is empty: a cluster needs a datacenter")
    cluster_options = {k: v for k, v in cassandra.items() if k != "datacenters"}
    plans: list[DatacenterPlan] = []
    versions: dict[str, Any] = {}
    heaps: dict[str, Any] = {}
    tls: dict[str, Any] = {}
    for index, raw in enumerate(datacenters):
        plan, path, dc = _datacenter(index, raw, cluster_label)
        plan = dataclasses.replace(plan, common_labels=_common_labels(cassandra, dc))
        if plan.key in {p.key for p in plans}:
            raise SpecError(f"{path}.metadata.name {plan.key!r} is given twice")
        merged = _merge(cluster_options, dc)
        if not merged.get("serverVersion"):
            raise SpecError(f"{path}: serverVersion should be set globally or at DC level")
        if not merged.get("storageConfig"):
            raise SpecError(f"{path}: storageConfig should be set globally or at DC level")
        config = merged.get("config") or {}
        versions[plan.key] = str(merged["serverVersion"])
        heaps[plan.key] = _heap(config.get("jvmOptions") or {}, path)
        tls[plan.key] = _tls_flags(config.get("cassandraYaml") or {})
        plans.append(plan)
    version = _one(versions, "serverVersion")
    if not _LOCAL_VERSION.match(version):
        raise SpecError(
            f"serverVersion {version!r}: the local stand-in runs Apache Cassandra 5.0.x only "
            "(e.g. 5.0.9)"
        )
    heap = _one(heaps, "heap size") or ClusterSpec().heap
    client_on, internode_on = _one(tls, "encryption settings")
    client_stores = _stores(cassandra, "clientEncryptionStores") if client_on else None
    internode_stores = _stores(cassandra, "serverEncryptionStores") if internode_on else None
    superuser_ref = (cassandra.get("superuserSecretRef") or {}).get("name")
    return Translation(
        namespace=namespace,
        name=name,
        local_name=local_name(namespace, name),
        cluster_label=cluster_label,
        cassandra_name=cassandra_name,
        version=version,
        heap=heap,
        authentication=spec.get("auth", True) is not False,
        datacenters=tuple(plans),
        superuser_secret=superuser_ref or f"{cluster_label}-superuser",
        generate_superuser=not superuser_ref,
        client_stores=client_stores,
        internode_stores=internode_stores,
    )

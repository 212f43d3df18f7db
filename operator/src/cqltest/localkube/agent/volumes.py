"""Which files each pod volume holds and where containers mount them: the plan, not the I/O.

Supported volume types: ``secret``, ``configMap`` (``items``, ``defaultMode``, per-item
``mode``, ``optional``), ``downwardAPI``, ``projected`` (secret, configMap, downwardAPI and
serviceAccountToken sources, the token from the TokenRequest API, not refreshed),
``emptyDir`` and ``hostPath``. As the ServiceAccount admission plugin (off in localkube) and
the kubelet would, every pod that does not opt out (``automountServiceAccountToken: false``)
also gets ``token``, ``ca.crt`` and ``namespace`` at
``/var/run/secrets/kubernetes.io/serviceaccount``, so in-cluster clients work. As in the
kubelet, Secret/ConfigMap/downward-API/projected volumes are always read-only
(``ReadOnlyAPIDataVolumes``); a ``volumeMount`` may also ask for ``readOnly`` and ``subPath``.
A Secret or ConfigMap that is missing and not optional raises :class:`VolumeError`: the kubelet
leaves the pod ``ContainerCreating`` and retries the mount, and so does the agent.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cqltest.localkube.agent.envvars import Fetch, lookup
from cqltest.localkube.agent.fields import ConfigError, field_value, resource_value

DEFAULT_MODE = 0o644
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
API_ACCESS_VOLUME = "kube-api-access-localkube"
#: What the kubelet asks for its own projected tokens (the apiserver may extend it).
API_ACCESS_EXPIRATION = 3607

#: token(namespace, service account, audiences, expirationSeconds) -> a token bound to the pod
Token = Callable[[str, str, Sequence[str], int], str]


class VolumeError(ConfigError):
    """A volume cannot be populated yet (the kubelet's FailedMount): retried, pod stays
    ContainerCreating."""


@dataclass(frozen=True)
class VolumeFile:
    path: str  # relative to the volume's directory
    data: bytes
    mode: int


@dataclass(frozen=True)
class VolumePlan:
    """One volume: ``files`` to write into its directory, or a ``host_path`` to bind as is."""

    name: str
    files: tuple[VolumeFile, ...] = ()
    host_path: str | None = None
    read_only: bool = False


@dataclass(frozen=True)
class Mount:
    """A bind mount inside the container's mount namespace."""

    source: str
    target: str
    read_only: bool


def _safe_relative(path: str) -> str:
    normal = posixpath.normpath(path)
    if normal.startswith(("/", "..")) or not normal or normal == ".":
        raise ConfigError(f"volume item path {path!r} must be relative and stay in the volume")
    return normal


def _keyed_files(
    fetch: Fetch, resource: str, namespace: str, source: Mapping[str, Any], default_mode: int
) -> list[VolumeFile]:
    name_field = "secretName" if resource == "secrets" and "secretName" in source else "name"
    name = str(source.get(name_field, ""))
    optional = bool(source.get("optional", False))
    try:
        data = lookup(fetch, resource, namespace, name, optional=optional)
    except ConfigError as exc:
        raise VolumeError(f"MountVolume.SetUp failed: {exc}") from None
    if data is None:
        return []
    mode = int(source.get("defaultMode", default_mode))
    items = source.get("items")
    if not items:
        return [VolumeFile(_safe_relative(key), value, mode) for key, value in data.items()]
    files: list[VolumeFile] = []
    for item in items:
        key = str(item["key"])
        if key not in data:
            if optional:
                continue
            kind = "secret" if resource == "secrets" else "configmap"
            raise VolumeError(
                f"MountVolume.SetUp failed: {kind} references non-existent {kind} key: {key}"
            )
        files.append(
            VolumeFile(_safe_relative(str(item["path"])), data[key], item.get("mode", mode))
        )
    return files


def _downward_files(
    pod: Mapping[str, Any],
    source: Mapping[str, Any],
    default_mode: int,
    allocatable: Mapping[str, str],
) -> list[VolumeFile]:
    mode = int(source.get("defaultMode", default_mode))
    files: list[VolumeFile] = []
    for item in source.get("items") or []:
        if "fieldRef" in item:
            value = field_value(pod, str(item["fieldRef"].get("fieldPath")), whole_maps=True)
        else:
            ref = item.get("resourceFieldRef") or {}
            value = resource_value(pod, str(ref.get("containerName", "")), ref, allocatable)
        files.append(
            VolumeFile(_safe_relative(str(item["path"])), value.encode(), item.get("mode", mode))
        )
    return files


def _service_account(pod: Mapping[str, Any]) -> tuple[str, str]:
    namespace = str(pod.get("metadata", {}).get("namespace", "default"))
    return namespace, str(pod.get("spec", {}).get("serviceAccountName") or "default")


def _token_files(
    pod: Mapping[str, Any], source: Mapping[str, Any], token: Token | None, mode: int
) -> list[VolumeFile]:
    if token is None:
        return []
    audience = source.get("audience")
    value = token(
        *_service_account(pod), [str(audience)] if audience else [],
        int(source.get("expirationSeconds", 3600)),
    )  # fmt: skip
    return [VolumeFile(_safe_relative(str(source["path"])), value.encode(), mode)]


def api_access(pod: Mapping[str, Any], token: Token, ca_pem: bytes) -> VolumePlan | None:
    """The service-account volume of the pod, or None when it opts out."""
    if pod.get("spec", {}).get("automountServiceAccountToken") is False:
        return None
    namespace, account = _service_account(pod)
    files = (
        VolumeFile("token", token(namespace, account, [], API_ACCESS_EXPIRATION).encode(), 0o644),
        VolumeFile("ca.crt", ca_pem, 0o644),
        VolumeFile("namespace", namespace.encode(), 0o644),
    )
    return VolumePlan(API_ACCESS_VOLUME, files=files, read_only=True)


def plan_volume(
    pod: Mapping[str, Any],
    volume: Mapping[str, Any],
    fetch: Fetch,
    allocatable: Mapping[str, str],
    token: Token | None = None,
) -> VolumePlan:
    name = str(volume["name"])
    namespace = str(pod.get("metadata", {}).get("namespace", "default"))
    if "emptyDir" in volume:
        return VolumePlan(name)
    if "hostPath" in volume:
        return VolumePlan(name, host_path=str(volume["hostPath"].get("path")))
    files: list[VolumeFile]
    if "secret" in volume:
        files = _keyed_files(fetch, "secrets", namespace, volume["secret"], DEFAULT_MODE)
    elif "configMap" in volume:
        files = _keyed_files(fetch, "configmaps", namespace, volume["configMap"], DEFAULT_MODE)
    elif "downwardAPI" in volume:
        files = _downward_files(pod, volume["downwardAPI"], DEFAULT_MODE, allocatable)
    elif "projected" in volume:
        projected = volume["projected"]
        mode = int(projected.get("defaultMode", DEFAULT_MODE))
        files = []
        for source in projected.get("sources") or []:
            if "secret" in source:
                files += _keyed_files(fetch, "secrets", namespace, source["secret"], mode)
            elif "configMap" in source:
                files += _keyed_files(fetch, "configmaps", namespace, source["configMap"], mode)
            elif "downwardAPI" in source:
                files += _downward_files(pod, source["downwardAPI"], mode, allocatable)
            elif "serviceAccountToken" in source:
                files += _token_files(pod, source["serviceAccountToken"], token, mode)
            # clusterTrustBundle / podCertificate: not issued by localkube.
    else:
        kinds = sorted(set(volume) - {"name"})
        raise ConfigError(f"volume {name!r}: unsupported volume type {kinds}")
    return VolumePlan(name, files=tuple(files), read_only=True)


def plan_volumes(
    pod: Mapping[str, Any],
    fetch: Fetch,
    allocatable: Mapping[str, str],
    token: Token | None = None,
    ca_pem: bytes = b"",
) -> list[VolumePlan]:
    """Every volume of the pod, plus its service-account volume when ``token`` is given;
    raises VolumeError (retry) or ConfigError."""
    plans = [
        plan_volume(pod, volume, fetch, allocatable, token)
        for volume in pod.get("spec", {}).get("volumes") or []
    ]
    access = api_access(pod, token, ca_pem) if token is not None else None
    return [*plans, access] if access is not None else plans


def container_mounts(
    container: Mapping[str, Any], plans: Sequence[VolumePlan], volumes_dir: Path
) -> list[Mount]:
    """The container's ``volumeMounts`` as bind mounts from the pod's volume directories."""
    by_name = {plan.name: plan for plan in plans}
    mounts: list[Mount] = []
    for mount in container.get("volumeMounts") or []:
        plan = by_name.get(str(mount["name"]))
        if plan is None:
            raise ConfigError(f"volumeMount {mount['name']!r}: no such volume in the pod")
        source = plan.host_path or str(volumes_dir / plan.name)
        if mount.get("subPath"):
            source = posixpath.join(source, _safe_relative(str(mount["subPath"])))
        target = str(mount["mountPath"])
        if not target.startswith("/"):
            raise ConfigError(f"mountPath {target!r} must be absolute (no image working dir)")
        read_only = plan.read_only or bool(mount.get("readOnly", False))
        mounts.append(Mount(source, posixpath.normpath(target), read_only))
    if API_ACCESS_VOLUME in by_name and all(m.target != SERVICE_ACCOUNT_DIR for m in mounts):
        mounts.append(Mount(str(volumes_dir / API_ACCESS_VOLUME), SERVICE_ACCOUNT_DIR, True))
    return mounts

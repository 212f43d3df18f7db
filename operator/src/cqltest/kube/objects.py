"""Create-or-get, list, delete and patch for the objects a TestRun owns, as plain dicts.

The engine's idempotency rests on two facts kept here: creating an object that already exists
returns the existing one (so a restarted operator re-applying ``StartSuite`` finds the Job it
made before the crash), and deleting a missing object succeeds (so teardown can be repeated).
Objects come back as the JSON the apiserver sent, never as client models, so the pure code that
reads them (``engine.world``) is tested with the same shapes the apiserver produces.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from kubernetes.client.exceptions import ApiException

from cqltest.kube.client import Kube
from cqltest.kube.errors import Conflict, KubeError

GROUP = "cqltest.dev"
VERSION = "v1alpha1"
PLURAL = "testruns"
K8SSANDRA = ("k8ssandra.io", "v1alpha1", "k8ssandraclusters")


def _fail(what: str, exc: ApiException) -> KubeError:
    return KubeError(f"{what}: {exc.status} {exc.reason}: {(exc.body or '')[:500]}")


_KINDS = {
    "Job": ("/apis/batch/v1", "jobs"),
    "ConfigMap": ("/api/v1", "configmaps"),
    "Secret": ("/api/v1", "secrets"),
    "Pod": ("/api/v1", "pods"),
    "NetworkPolicy": ("/apis/networking.k8s.io/v1", "networkpolicies"),
}


def _path(kind: str, namespace: str) -> str:
    group, plural = _KINDS[kind]
    return f"{group}/namespaces/{namespace}/{plural}"


def create_or_get(kube: Kube, manifest: dict[str, Any]) -> dict[str, Any]:
    """Create ``manifest`` (Job, ConfigMap, Secret); if its name exists, return the existing one."""
    kind = manifest["kind"]
    namespace = manifest["metadata"]["namespace"]
    name = manifest["metadata"]["name"]
    try:
        return _request(kube, "POST", _path(kind, namespace), body=manifest)
    except ApiException as exc:
        if exc.status != 409:
            raise _fail(f"create {kind} {namespace}/{name}", exc) from exc
    return get(kube, kind, namespace, name) or {}


def _request(
    kube: Kube,
    method: str,
    path: str,
    *,
    body: Any = None,
    query: list[tuple[str, Any]] | None = None,
    content_type: str = "application/json",
) -> dict[str, Any]:
    """One API request; the JSON answer as a dict (ApiException on a non-2xx status)."""
    serialized = kube.api.param_serialize(
        method=method,
        resource_path=path,
        query_params=query or [],
        header_params={"Accept": "application/json", "Content-Type": content_type},
        body=body,
        auth_settings=["BearerToken"],
    )
    response = kube.api.call_api(*serialized)
    response.read()
    text = response.data.decode("utf-8", errors="replace") if response.data else ""
    if not 200 <= response.status <= 299:
        raise ApiException.from_response(http_resp=response, body=text, data=None)
    loaded: dict[str, Any] = json.loads(text) if text else {}
    return loaded


def get(kube: Kube, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    try:
        return _request(kube, "GET", f"{_path(kind, namespace)}/{name}")
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise _fail(f"get {kind} {namespace}/{name}", exc) from exc


def list_labelled(kube: Kube, kind: str, namespace: str, selector: str) -> list[dict[str, Any]]:
    return _list(kube, _path(kind, namespace), f"{kind} in {namespace}", selector)


def _list(kube: Kube, path: str, what: str, selector: str) -> list[dict[str, Any]]:
    try:
        listed = _request(kube, "GET", path, query=[("labelSelector", selector)])
    except ApiException as exc:
        raise _fail(f"list {what} ({selector})", exc) from exc
    items: list[dict[str, Any]] = listed.get("items", [])
    return items


def delete(
    kube: Kube,
    kind: str,
    namespace: str,
    name: str,
    *,
    propagation: str = "Background",
    grace: int | None = None,
    uid: str | None = None,
) -> None:
    """Delete, children too (``propagation``); a missing object is already deleted.

    ``grace``: gracePeriodSeconds (0 kills a Pod at once); ``uid``: delete only that object,
    not a namesake created since (a gone precondition counts as deleted, like a 404).
    """
    body: dict[str, Any] = {"propagationPolicy": propagation}
    if grace is not None:
        body["gracePeriodSeconds"] = grace
    if uid is not None:
        body["preconditions"] = {"uid": uid}
    try:
        _request(kube, "DELETE", f"{_path(kind, namespace)}/{name}", body=body)
    except ApiException as exc:
        if exc.status == 409 and uid is not None:
            return  # the precondition failed: that object is gone, a replacement stands there
        if exc.status != 404:
            raise _fail(f"delete {kind} {namespace}/{name}", exc) from exc


def replace_data(kube: Kube, manifest: dict[str, Any]) -> None:
    """Create a ConfigMap or Secret, or overwrite the data of the existing one."""
    existing = create_or_get(kube, manifest)
    if existing.get("data") == manifest.get("data"):
        return
    meta = manifest["metadata"]
    try:
        _request(
            kube,
            "PATCH",
            f"{_path(manifest['kind'], meta['namespace'])}/{meta['name']}",
            body={"data": manifest.get("data", {})},
            content_type="application/merge-patch+json",
        )
    except ApiException as exc:
        raise _fail(f"update {manifest['kind']} {meta['namespace']}/{meta['name']}", exc) from exc


def annotate(kube: Kube, kind: str, namespace: str, name: str, annotations: dict[str, str]) -> None:
    """Merge ``annotations`` into an object's metadata; a missing object is left alone."""
    try:
        _request(
            kube,
            "PATCH",
            f"{_path(kind, namespace)}/{name}",
            body={"metadata": {"annotations": annotations}},
            content_type="application/merge-patch+json",
        )
    except ApiException as exc:
        if exc.status != 404:
            raise _fail(f"annotate {kind} {namespace}/{name}", exc) from exc


def pod_log(kube: Kube, namespace: str, pod: str, container: str | None = None) -> str:
    try:
        text: str = kube.core.read_namespaced_pod_log(
            pod, namespace, container=container, _preload_content=True
        )
    except ApiException as exc:
        if exc.status in (400, 404):
            return ""
        raise _fail(f"logs of pod {namespace}/{pod}", exc) from exc
    return text


# -------------------------------------------------------------------------- custom resources


def get_custom(
    kube: Kube, group: str, version: str, plural: str, namespace: str, name: str
) -> dict[str, Any] | None:
    try:
        obj: dict[str, Any] = kube.custom.get_namespaced_custom_object(
            group, version, namespace, plural, name
        )
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise _fail(f"get {plural} {namespace}/{name}", exc) from exc
    return obj


def get_testrun(kube: Kube, namespace: str, name: str) -> dict[str, Any] | None:
    return get_custom(kube, GROUP, VERSION, PLURAL, namespace, name)


def patch_testrun_status(kube: Kube, namespace: str, name: str, status: dict[str, Any]) -> None:
    """Merge-patch ``/status`` (lists are replaced whole, which is what the engine renders)."""
    try:
        kube.custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, PLURAL, name, {"status": status}
        )
    except ApiException as exc:
        if exc.status == 404:
            return
        raise _fail(f"patch status of TestRun {namespace}/{name}", exc) from exc


def post_event(
    kube: Kube, involved: dict[str, Any], reason: str, message: str, *, warning: bool = False
) -> None:
    """A core/v1 Event on ``involved`` (what ``kubectl describe`` and ``get events`` show)."""
    meta = involved["metadata"]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
        "involvedObject": {
            "apiVersion": involved["apiVersion"],
            "kind": involved["kind"],
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta["uid"],
        },
        "reason": reason,
        "message": message[:1024],
        "type": "Warning" if warning else "Normal",
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "source": {"component": "cqltest-operator"},
        "reportingComponent": "cqltest-operator",
    }
    try:
        _request(kube, "POST", f"/api/v1/namespaces/{meta['namespace']}/events", body=event)
    except ApiException as exc:
        raise _fail(f"post event {reason} on {meta['name']}", exc) from exc


# -------------------------------------------------------------------------- preconditions


def _custom_path(group: str, version: str, plural: str, namespace: str) -> str:
    return f"/apis/{group}/{version}/namespaces/{namespace}/{plural}"


def list_custom(
    kube: Kube, group: str, version: str, plural: str, namespace: str, selector: str
) -> list[dict[str, Any]]:
    path = _custom_path(group, version, plural, namespace)
    return _list(kube, path, f"{plural} in {namespace}", selector)


def patch_custom(
    kube: Kube,
    group: str,
    version: str,
    plural: str,
    namespace: str,
    name: str,
    patch: dict[str, Any],
) -> dict[str, Any] | None:
    """Merge-patch a custom object; None when it is gone.

    A ``metadata.resourceVersion`` in ``patch`` is a precondition: the apiserver refuses the
    write with 409 if the object changed since it was read, raised here as :class:`Conflict`.
    """
    try:
        return _request(
            kube,
            "PATCH",
            f"{_custom_path(group, version, plural, namespace)}/{name}",
            body=patch,
            content_type="application/merge-patch+json",
        )
    except ApiException as exc:
        if exc.status == 404:
            return None
        if exc.status == 409:
            raise Conflict(f"{plural} {namespace}/{name} changed since it was read") from exc
        raise _fail(f"patch {plural} {namespace}/{name}", exc) from exc


def create_new(kube: Kube, manifest: dict[str, Any]) -> dict[str, Any] | None:
    """Create ``manifest``; None when its name is taken (the atomic half of a reservation)."""
    meta = manifest["metadata"]
    try:
        return _request(kube, "POST", _path(manifest["kind"], meta["namespace"]), body=manifest)
    except ApiException as exc:
        if exc.status == 409:
            return None
        raise _fail(f"create {manifest['kind']} {meta['namespace']}/{meta['name']}", exc) from exc


def delete_unchanged(kube: Kube, kind: str, namespace: str, name: str, version: str) -> bool:
    """Delete an object only as it was read (resourceVersion ``version``); False if it changed."""
    body = {"propagationPolicy": "Background", "preconditions": {"resourceVersion": version}}
    try:
        _request(kube, "DELETE", f"{_path(kind, namespace)}/{name}", body=body)
    except ApiException as exc:
        if exc.status == 409:
            return False
        if exc.status != 404:
            raise _fail(f"delete {kind} {namespace}/{name}", exc) from exc
    return True


def list_everywhere(kube: Kube, kind: str, selector: str) -> list[dict[str, Any]]:
    """``kind`` objects with ``selector`` in every namespace (the caller may read them all)."""
    group, plural = _KINDS[kind]
    return _list(kube, f"{group}/{plural}", f"{kind} in every namespace", selector)

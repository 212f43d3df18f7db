"""What the operator-mode CLI asks of the apiserver: apply a TestRun, follow it, its namespace.

``cqltest submit``, ``status`` and ``logs`` are clients, not the operator: they apply the user's
manifest with server-side apply (field manager ``cqltest``), follow the object through a watch,
and read what the operator wrote (status, the report ConfigMap, the test pods' logs, through
:mod:`cqltest.kube.objects`). Refusals the user can act on (the CRD's schema or CEL rules, a
missing namespace or CRD) are :class:`RejectedError`, exit code 2, with the apiserver's words.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import config, watch
from kubernetes.client.exceptions import ApiException

from cqltest.kube import objects
from cqltest.kube.client import Kube, kubeconfig_path
from cqltest.kube.errors import KubeError
from cqltest.kube.objects import GROUP, PLURAL, VERSION

FIELD_MANAGER = "cqltest"
APPLY_PATCH = "application/apply-patch+yaml"
WATCH_CHUNK = 60
"""Seconds one watch request lasts at most before it is renewed (and the deadline checked)."""
_IN_CLUSTER_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


class RejectedError(KubeError):
    """The apiserver refused the request for a reason the user must fix; nothing was changed."""

    exit_code = 2


def api_message(exc: ApiException) -> str:
    """The apiserver's own message from an error response (its Status ``message``)."""
    try:
        body = json.loads(exc.body or "")
    except (TypeError, ValueError):
        body = None
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return f"{exc.status} {exc.reason}: {(exc.body or '')[:500]}".strip()


def default_namespace(kubeconfig: Path | str | None = None) -> str:
    """The namespace of the kubeconfig's current context (or the pod's own), else ``default``."""
    path = kubeconfig_path(kubeconfig)
    if path is None:
        try:
            return _IN_CLUSTER_NAMESPACE.read_text(encoding="utf-8").strip() or "default"
        except OSError:
            return "default"
    if not path.exists():
        raise KubeError(f"--kubeconfig {path}: no such file")
    try:
        _, active = config.list_kube_config_contexts(config_file=str(path))  # type: ignore[no-untyped-call]
    except (config.ConfigException, KeyError, TypeError) as exc:
        raise KubeError(f"kubeconfig {path}: {exc}") from exc
    namespace = ((active or {}).get("context") or {}).get("namespace")
    return str(namespace) if namespace else "default"


def apply_testrun(kube: Kube, namespace: str, manifest: dict[str, Any]) -> dict[str, Any]:
    """Server-side apply ``manifest`` (a TestRun) into ``namespace``; the stored object.

    Forced, so a field another manager owns is taken over rather than reported as a conflict;
    the spec is immutable anyway (the CRD's transition rule refuses any change, with a message
    saying to create a new run), so only an identical re-submit of an existing run succeeds.
    """
    name = manifest["metadata"]["name"]
    body = {**manifest, "metadata": {**manifest["metadata"], "namespace": namespace}}
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}/{name}"
    # Not CustomObjectsApi.patch_namespaced_custom_object: it drops a 201 (created) body.
    try:
        stored = objects._request(
            kube, "PATCH", path, body=body, content_type=APPLY_PATCH,
            query=[("fieldManager", FIELD_MANAGER), ("force", "true")],
        )  # fmt: skip
    except ApiException as exc:
        raise _apply_error(exc, namespace, name) from exc
    return stored


def _apply_error(exc: ApiException, namespace: str, name: str) -> KubeError:
    message = api_message(exc)
    if exc.status in (400, 409, 422):
        return RejectedError(f"the apiserver refused TestRun {namespace}/{name}: {message}")
    if exc.status == 404:
        if "namespace" in message:
            return RejectedError(message)
        return RejectedError(
            f"this cluster does not serve TestRuns ({message}); install the CRD first: "
            "kubectl apply --server-side -f manifests/crds/"
        )
    return KubeError(f"apply TestRun {namespace}/{name}: {message}")


def follow_testrun(
    kube: Kube, namespace: str, name: str, *, deadline: float
) -> Iterator[dict[str, Any] | None]:
    """The TestRun as it is now, then each new version of it, until ``deadline`` (monotonic).

    None means it does not exist (deleted). A version may repeat (each watch renewal starts from
    a fresh read), so a consumer keeps what it has seen; the caller stops iterating when done.
    """
    selector = f"metadata.name={name}"
    while True:
        try:
            listed = kube.custom.list_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, field_selector=selector
            )
        except ApiException as exc:
            raise KubeError(f"read TestRun {namespace}/{name}: {api_message(exc)}") from exc
        items = listed.get("items") or []
        yield items[0] if items else None
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        # min() first: with no deadline, remaining is infinite and has no int().
        chunk = max(1, math.ceil(min(WATCH_CHUNK, remaining)))
        watcher = watch.Watch()  # type: ignore[no-untyped-call]
        events = watcher.stream(  # type: ignore[no-untyped-call]
            kube.custom.list_namespaced_custom_object,
            GROUP, VERSION, namespace, PLURAL,
            field_selector=selector,
            resource_version=listed["metadata"]["resourceVersion"],
            timeout_seconds=chunk,
            _request_timeout=chunk + 10,
        )  # fmt: skip
        try:
            for event in events:
                kind = event.get("type")
                if kind in ("ADDED", "MODIFIED"):
                    yield event["object"]
                elif kind == "DELETED":
                    yield None
                if time.monotonic() >= deadline:
                    return
        except ApiException as exc:
            if exc.status != 410:  # Gone: the version expired; read afresh and watch again
                raise KubeError(f"watch TestRun {namespace}/{name}: {api_message(exc)}") from exc
        except urllib3.exceptions.HTTPError:
            pass  # a dropped or stalled connection: read afresh and watch again
        finally:
            watcher.stop()  # type: ignore[no-untyped-call]
            events.close()

"""Helpers for the node-agent tests: apply manifests, wait for the real controllers, read pods."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

import yaml
from cqltest.localkube.instance import Localkube

T = TypeVar("T")


def apply(localkube: Localkube, namespace: str, *objects: dict[str, Any]) -> None:
    localkube.kubectl(
        "apply", "-n", namespace, "-f", "-", input=yaml.safe_dump_all(objects, sort_keys=False)
    )


def get(localkube: Localkube, path: str) -> Any:
    status, body = localkube.request("GET", path)
    assert status == 200, f"GET {path}: {status} {body}"
    return body


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 60) -> T:
    """Poll every 50 ms until `probe()` returns something truthy; fail naming `what`."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"{what}: not after {timeout:.0f}s (last: {last!r})")


def job(
    name: str,
    command: list[str],
    *,
    backoff_limit: int = 0,
    pod_spec: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Job of one container running `command` (restartPolicy Never)."""
    spec = {
        "restartPolicy": "Never",
        "containers": [{"name": "main", "image": "none", "command": command}],
        **(pod_spec or {}),
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, **(metadata or {})},
        "spec": {"backoffLimit": backoff_limit, "template": {"spec": spec}},
    }


def pod(name: str, container: dict[str, Any], **spec: Any) -> dict[str, Any]:
    """A bare Pod (restartPolicy Never) with one container named `main`."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": "none", **container}],
            **spec,
        },
    }


def job_pods(localkube: Localkube, namespace: str, job_name: str) -> list[dict[str, Any]]:
    path = f"/api/v1/namespaces/{namespace}/pods?labelSelector=job-name%3D{job_name}"
    items: list[dict[str, Any]] = get(localkube, path)["items"]
    return items


def job_condition(localkube: Localkube, namespace: str, name: str, kind: str) -> bool:
    body = get(localkube, f"/apis/batch/v1/namespaces/{namespace}/jobs/{name}")
    return any(
        c["type"] == kind and c["status"] == "True"
        for c in body.get("status", {}).get("conditions") or []
    )


def pod_phase(localkube: Localkube, namespace: str, name: str) -> str:
    body = get(localkube, f"/api/v1/namespaces/{namespace}/pods/{name}")
    return str(body.get("status", {}).get("phase", ""))


def finished_pod(localkube: Localkube, namespace: str, name: str) -> dict[str, Any]:
    """Wait until the pod is Succeeded or Failed and return it."""

    def done() -> dict[str, Any] | None:
        body: dict[str, Any] = get(localkube, f"/api/v1/namespaces/{namespace}/pods/{name}")
        return body if body.get("status", {}).get("phase") in ("Succeeded", "Failed") else None

    return wait_for(f"pod {name} finished", done)


def logs(localkube: Localkube, namespace: str, *args: str) -> str:
    return localkube.kubectl("logs", "-n", namespace, *args).stdout


def output_json(localkube: Localkube, namespace: str, pod_name: str) -> Any:
    """The JSON document a pod printed as its last log line."""
    return json.loads(logs(localkube, namespace, pod_name).strip().splitlines()[-1])

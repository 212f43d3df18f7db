"""A fake of the Kubernetes API at the ``cqltest.kube.objects`` boundary, and of Helm.

Unit tests put :class:`FakeApi` in place of the ``objects`` module of the code under test
(``monkeypatch.setattr(module, "objects", api)``) so the real operator code runs against
objects kept in dicts. It keeps what the tests rely on from the apiserver: label selectors,
resourceVersions bumped on every write, merge patches whose ``metadata.resourceVersion`` is a
precondition (409 as :class:`Conflict`), creates that fail on a taken name and deletes with a
version precondition. :class:`FakeHelm` stands in for the ``cqltest-cluster`` chart: an install
creates the K8ssandraCluster with the chart's labels, already Ready.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cqltest.kube import objects
from cqltest.kube.errors import Conflict

INSTANCE = "app.kubernetes.io/instance"
KINDS = ("Pod", "Job", "NetworkPolicy", "ConfigMap", "Secret", "K8ssandraCluster", "TestRun")


def _merge(target: dict[str, Any], patch: Mapping[str, Any]) -> None:
    """JSON merge patch (RFC 7386): None removes a key, mappings merge, the rest replaces."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = dict(value) if isinstance(value, Mapping) else value


class FakeApi:
    """Objects by kind and name (one namespace); deletes are recorded."""

    K8SSANDRA = objects.K8SSANDRA

    def __init__(self, pods: dict[str, dict[str, Any]] | None = None) -> None:
        self.store: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS}
        self.store["Pod"].update(pods or {})
        self.deleted: list[tuple[str, str, int | None]] = []
        self.logs: dict[str, str] = {}
        self.before_create: Callable[[dict[str, Any]], None] | None = None
        """Called once before the next ``create_new``: another writer moving first."""
        self._versions = itertools.count(1)

    def add(self, manifest: dict[str, Any]) -> dict[str, Any]:
        meta = manifest["metadata"]
        meta["resourceVersion"] = str(next(self._versions))
        meta.setdefault("uid", f"uid-{meta['name']}-{meta['resourceVersion']}")
        self.store[manifest["kind"]][meta["name"]] = manifest
        return manifest

    def list_labelled(self, kube: Any, kind: str, namespace: str, selector: str) -> list[Any]:
        wanted = dict(part.split("=", 1) for part in selector.split(",") if "=" in part)
        keys = [part for part in selector.split(",") if "=" not in part]
        return [
            obj
            for obj in self.store[kind].values()
            if all(obj["metadata"].get("labels", {}).get(k) == v for k, v in wanted.items())
            and all(k in obj["metadata"].get("labels", {}) for k in keys)
        ]

    def delete(self, kube: Any, kind: str, namespace: str, name: str, **options: Any) -> None:
        self.deleted.append((kind, name, options.get("grace")))
        self.store[kind].pop(name, None)

    def create_or_get(self, kube: Any, manifest: dict[str, Any]) -> dict[str, Any]:
        found = self.store[manifest["kind"]].get(manifest["metadata"]["name"])
        return found if found is not None else self.add(manifest)

    def create_new(self, kube: Any, manifest: dict[str, Any]) -> dict[str, Any] | None:
        hook, self.before_create = self.before_create, None
        if hook is not None:
            hook(manifest)
        if manifest["metadata"]["name"] in self.store[manifest["kind"]]:
            return None
        return self.add(manifest)

    def delete_unchanged(
        self, kube: Any, kind: str, namespace: str, name: str, version: str
    ) -> bool:
        found = self.store[kind].get(name)
        if found is not None and found["metadata"]["resourceVersion"] != version:
            return False
        self.delete(kube, kind, namespace, name)
        return True

    def list_custom(self, kube: Any, *where: str) -> list[Any]:
        *_, namespace, selector = where
        return self.list_labelled(kube, "K8ssandraCluster", namespace, selector)

    def get_custom(self, kube: Any, *where: str) -> dict[str, Any] | None:
        return self.store["K8ssandraCluster"].get(where[-1])

    def patch_custom(self, kube: Any, *where: Any) -> dict[str, Any] | None:
        *_, name, patch = where
        found = self.store["K8ssandraCluster"].get(name)
        if found is None:
            return None
        meta = dict(patch.get("metadata") or {})
        version = meta.pop("resourceVersion", None)
        if version is not None and version != found["metadata"]["resourceVersion"]:
            raise Conflict(f"K8ssandraCluster {name} changed since it was read")
        _merge(found, {**patch, "metadata": meta})
        found["metadata"]["resourceVersion"] = str(next(self._versions))
        return found

    def get_testrun(self, kube: Any, namespace: str, name: str) -> dict[str, Any] | None:
        return self.store["TestRun"].get(name)

    def pod_log(self, kube: Any, namespace: str, pod: str, container: str | None = None) -> str:
        return self.logs.get(pod, "")


class FakeHelm:
    """Releases installed into ``api`` as the chart would render their K8ssandraCluster."""

    def __init__(self, api: FakeApi) -> None:
        self.api = api
        self.history: list[tuple[str, str]] = []

    def install(self, name: str, chart: Path, values: dict[str, Any], namespace: str) -> None:
        self.history.append(("install", name))
        dcs = values["datacenters"]
        labels = {INSTANCE: name, **dict(values.get("labels") or {})}
        if values.get("pool"):
            labels["cqltest.dev/pool"] = values["pool"]
        ready: dict[str, Any] = {
            "conditions": [{"type": "Ready", "status": "True"}],
            "cassandraOperatorProgress": "Ready",
        }
        self.api.add(
            {
                "kind": "K8ssandraCluster",
                "metadata": {
                    "name": values["clusterName"],
                    "namespace": namespace,
                    "labels": labels,
                    "annotations": dict(values.get("annotations") or {}),
                },
                "spec": {"cassandra": {"datacenters": dcs}},
                "status": {"datacenters": {dc["name"]: {"cassandra": ready} for dc in dcs}},
            }
        )

    def uninstall(self, name: str, namespace: str) -> None:
        self.history.append(("uninstall", name))
        for obj in self.api.list_labelled(
            None, "K8ssandraCluster", namespace, f"{INSTANCE}={name}"
        ):
            self.api.delete(None, "K8ssandraCluster", namespace, obj["metadata"]["name"])

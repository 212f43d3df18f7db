"""Writing the stand-in's objects to the apiserver: Pods and their status, Services, Events.

The builders are pure (:mod:`.objects`); this module creates what is missing and rewrites what
changed, remembering what it last wrote so a steady cluster costs no API calls. Objects are
found again after a controller restart by name; deletion finds them by owner UID.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cqltest.localkube.agent.api import Api, ApiError
from cqltest.localkube.k8ssandra import objects
from cqltest.localkube.k8ssandra.translate import Translation

MERGE = "application/merge-patch+json"

#: Collection paths (namespace filled in) of every kind the stand-in publishes.
KINDS = ("Pod", "Service", "Secret")
_COLLECTIONS = {
    "Pod": "/api/v1/namespaces/{}/pods",
    "Service": "/api/v1/namespaces/{}/services",
    "Secret": "/api/v1/namespaces/{}/secrets",
}
#: Events' source, as cass-operator's name its controller.
COMPONENT = "k8ssandra-stand-in"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _PodRecord:
    uid: str
    started_at: str
    written: tuple[str, bool, int] | None = None  #: (address, ready, restarts) last written


class Publisher:
    """Publishes one K8ssandraCluster's objects in its namespace."""

    def __init__(
        self, api: Api, translation: Translation, node: str, owner: Mapping[str, Any]
    ) -> None:
        self.api = api
        self.translation = translation
        self.node = node
        self.owner = owner
        self.namespace = translation.namespace
        self._pods: dict[str, _PodRecord] = {}
        self._restarts: dict[str, int] = {}

    def _collection(self, kind: str) -> str:
        return _COLLECTIONS[kind].format(self.namespace)

    def ensure(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        """Create ``manifest`` unless an object of its name exists; return the stored object."""
        collection = self._collection(manifest["kind"])
        try:
            return self.api.request("POST", collection, body=manifest)
        except ApiError as exc:
            if exc.status != 409:
                raise
        return self.api.get(f"{collection}/{manifest['metadata']['name']}")

    def ensure_services(self) -> None:
        for dc in self.translation.datacenters:
            for service in objects.services(self.translation, dc, self.owner):
                self.ensure(service)

    # ----------------------------------------------------------------- pods

    def existing_pods(self) -> dict[str, dict[str, Any]]:
        """The stand-in's Pods of this cluster, by name."""
        selector = f"{objects.LABEL_CLUSTER}={self.translation.cluster_label}"
        listing = self.api.get(self._collection("Pod"), labelSelector=selector)
        return {
            item["metadata"]["name"]: item
            for item in listing.get("items") or []
            if (item["metadata"].get("annotations") or {}).get(objects.STAND_IN_ANNOTATION)
            == objects.STAND_IN
        }

    def ensure_pod(
        self, pod: objects.NodePod, address: str, *, ready: bool, log_file: str | None = None
    ) -> None:
        """The node's Pod exists and its status says Running at ``address`` (Ready or not)."""
        record = self._pods.get(pod.name)
        if record is None:
            manifest = objects.pod(self.translation, pod, self.node, self.owner, log_file)
            stored = self.ensure(manifest)
            started = (stored.get("status") or {}).get("startTime") or _now()
            record = self._pods[pod.name] = _PodRecord(stored["metadata"]["uid"], started)
        restarts = self._restarts.get(pod.name, 0)
        wanted = (address, ready, restarts)
        if record.written == wanted:
            return
        path = f"{self._collection('Pod')}/{pod.name}/status"
        patch = {
            "metadata": {"uid": record.uid},  # a precondition: never write a newer Pod's status
            "status": objects.pod_status(
                address, ready, record.started_at, restarts, changed_at=_now()
            ),
        }
        try:
            self.api.request("PATCH", path, body=patch, content_type=MERGE)
        except ApiError as exc:
            if exc.status not in (404, 409, 422):
                raise
            del self._pods[pod.name]  # deleted meanwhile: recreated on the next pass
            return
        record.written = wanted

    def recreated(self, name: str) -> None:
        """Pod ``name`` was deleted: the next one is a new Pod (restart count 0)."""
        self._pods.pop(name, None)
        self._restarts.pop(name, None)

    def restarted(self, name: str) -> None:
        """The node behind Pod ``name`` died and starts again in the same Pod (as a container
        the kubelet restarts)."""
        self._restarts[name] = self._restarts.get(name, 0) + 1

    def remove_pod(self, current: Mapping[str, Any]) -> None:
        """Finish a Pod's deletion, as the kubelet does once the container stopped."""
        path = f"{self._collection('Pod')}/{current['metadata']['name']}"
        body = {
            "kind": "DeleteOptions",
            "apiVersion": "v1",
            "gracePeriodSeconds": 0,
            "preconditions": {"uid": current["metadata"]["uid"]},
        }
        try:
            self.api.request("DELETE", path, body=body)
        except ApiError as exc:
            if exc.status not in (404, 409):
                raise

    # ----------------------------------------------------------------- events

    def event(self, reason: str, message: str, *, warning: bool = False) -> None:
        """Record an Event on the K8ssandraCluster (``kubectl describe k8c`` shows it)."""
        stamp = _now()
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{self.owner['name']}.", "namespace": self.namespace},
            "involvedObject": {
                "apiVersion": self.owner["apiVersion"],
                "kind": self.owner["kind"],
                "name": self.owner["name"],
                "namespace": self.namespace,
                "uid": self.owner["uid"],
            },
            "reason": reason,
            "message": message[:1024],
            "type": "Warning" if warning else "Normal",
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
        }
        try:
            self.api.request("POST", f"/api/v1/namespaces/{self.namespace}/events", body=body)
        except ApiError as exc:
            if exc.status not in (403, 404):  # the namespace going away takes its Events along
                raise

    # ----------------------------------------------------------------- deletion

    @staticmethod
    def delete_owned(
        api: Api, namespace: str, owned: Callable[[Mapping[str, Any]], bool], kinds: Sequence[str]
    ) -> None:
        """Delete the objects of ``kinds`` the stand-in published whose owner reference is
        ``owned``; Pods at once, as the kubelet finishes a deletion (nothing else would: a
        terminating stand-in Pod would keep its namespace from ever being deleted)."""
        for kind in kinds:
            collection = _COLLECTIONS[kind].format(namespace)
            listing = api.get(collection, labelSelector=objects.LABEL_CLUSTER)
            for item in listing.get("items") or []:
                owners = item["metadata"].get("ownerReferences") or []
                if not any(owned(owner) for owner in owners):
                    continue
                body: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
                if kind == "Pod":
                    body["gracePeriodSeconds"] = 0
                try:
                    api.request("DELETE", f"{collection}/{item['metadata']['name']}", body=body)
                except ApiError as exc:
                    if exc.status != 404:
                        raise

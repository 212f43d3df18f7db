"""The stand-in's controller: watches K8ssandraClusters and their node Pods, one worker each.

Three watch threads turn events into wake-ups of the per-cluster :class:`ClusterWorker` (which
reads the object itself, so an event only says *look again*): any K8ssandraCluster event, a
stand-in Pod being deleted, and a NetworkPolicy of the cluster's namespace changing (the
worker enforces them: :mod:`.cni`). On start, and whenever a watch has to be re-listed, every object
gets a worker, and local clusters under the root whose object is gone are destroyed (the
controller was down while they were deleted). SIGTERM stops the watches and leaves the
clusters running: ``localkube down`` destroys everything under the root.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from urllib3.exceptions import HTTPError

from cqltest.local import LocalCluster
from cqltest.localkube.agent.api import Api, ApiError
from cqltest.localkube.k8ssandra import crd, objects
from cqltest.localkube.k8ssandra.reconcile import ClusterWorker
from cqltest.localkube.k8ssandra.translate import local_name

CLUSTERS = f"/apis/{crd.GROUP}/{crd.VERSION}/{crd.PLURAL}"
PODS = "/api/v1/pods"
POLICIES = "/apis/networking.k8s.io/v1/networkpolicies"
#: Seconds before a failed list or watch is tried again (the CRD not yet created, say).
RETRY = 1.0
#: Seconds a stopping controller waits for each worker's current step.
STOP_GRACE = 10.0

log = logging.getLogger(__name__)


class Controller:
    def __init__(self, api: Api, node: str, root: Path) -> None:
        self.api = api
        self.node = node
        self.root = root
        self.stopping = threading.Event()
        self._workers: dict[tuple[str, str], ClusterWorker] = {}
        self._lock = threading.Lock()

    def run(self) -> None:
        """Serve until :meth:`stop`."""
        watches = [
            threading.Thread(target=self._watch_clusters, name="watch clusters", daemon=True),
            threading.Thread(
                target=self._watch,
                args=(PODS, objects.LABEL_CLUSTER, self._pod_event),
                name="watch pods",
                daemon=True,
            ),
            threading.Thread(
                target=self._watch,
                args=(POLICIES, None, self._policy_event),
                name="watch networkpolicies",
                daemon=True,
            ),
        ]
        for thread in watches:
            thread.start()
        self.stopping.wait()
        with self._lock:
            workers = list(self._workers.values())
        for worker in workers:
            worker.stop()
        for worker in workers:  # a worker starting Cassandra finishes that step first
            worker.thread.join(STOP_GRACE)

    def stop(self) -> None:
        self.stopping.set()

    def wake(self, namespace: str, name: str) -> None:
        """Have the cluster's worker look again, starting one if there is none (alive)."""
        if self.stopping.is_set():
            return
        key = (namespace, name)
        with self._lock:
            worker = self._workers.get(key)
            if worker is None or not worker.alive():
                worker = ClusterWorker(self.api, namespace, name, self.node, self.root)
                self._workers[key] = worker
                worker.start()
            else:
                worker.wake.set()

    # ----------------------------------------------------------------- watches

    def _watch_clusters(self) -> None:
        while not self.stopping.is_set():
            try:
                listing = self.api.get(CLUSTERS)
                items = listing.get("items") or []
                for item in items:
                    self.wake(item["metadata"]["namespace"], item["metadata"]["name"])
                self._destroy_orphans(items)
                version = listing["metadata"]["resourceVersion"]
                for event in self.api.watch(CLUSTERS, version):
                    if self.stopping.is_set():
                        return
                    body = event.get("object") or {}
                    if event.get("type") == "BOOKMARK":
                        continue
                    self.wake(body["metadata"]["namespace"], body["metadata"]["name"])
            except (ApiError, OSError, HTTPError) as exc:  # a watch ends, the server restarts
                log.debug("K8ssandraCluster watch: %s; listing again", exc)
                self.stopping.wait(RETRY)
            except Exception:
                log.exception("K8ssandraCluster watch failed; listing again")
                self.stopping.wait(RETRY)

    def _watch(
        self, path: str, selector: str | None, handle: Callable[[dict[str, Any]], None]
    ) -> None:
        """Hand every event of ``path``'s objects to ``handle``, listing again when it ends."""
        what = path.rsplit("/", 1)[-1]
        query: dict[str, Any] = {"labelSelector": selector} if selector else {}
        while not self.stopping.is_set():
            try:
                listing = self.api.get(path, **query)
                version = listing["metadata"]["resourceVersion"]
                for event in self.api.watch(path, version, **query):
                    if self.stopping.is_set():
                        return
                    handle(event)
            except (ApiError, OSError, HTTPError) as exc:  # a watch ends, the server restarts
                log.debug("%s watch: %s; listing again", what, exc)
                self.stopping.wait(RETRY)
            except Exception:
                log.exception("%s watch failed; listing again", what)
                self.stopping.wait(RETRY)

    def _policy_event(self, event: dict[str, Any]) -> None:
        """A NetworkPolicy added, changed or deleted: every cluster of its namespace looks
        again (the worker decides whether the policy selects its node Pods)."""
        namespace = ((event.get("object") or {}).get("metadata") or {}).get("namespace")
        if event.get("type") == "BOOKMARK" or not namespace:
            return
        with self._lock:
            names = [name for ns, name in self._workers if ns == namespace]
        for name in names:
            self.wake(namespace, name)

    def _pod_event(self, event: dict[str, Any]) -> None:
        """A stand-in Pod being deleted wakes its cluster's worker (which restarts the node)."""
        pod = event.get("object") or {}
        metadata = pod.get("metadata") or {}
        if (metadata.get("annotations") or {}).get(objects.STAND_IN_ANNOTATION) != objects.STAND_IN:
            return
        if event.get("type") != "DELETED" and not metadata.get("deletionTimestamp"):
            return
        for owner in metadata.get("ownerReferences") or []:
            if owner.get("kind") == crd.KIND:
                self.wake(metadata["namespace"], owner["name"])

    def _destroy_orphans(self, items: list[dict[str, Any]]) -> None:
        """Local clusters whose K8ssandraCluster is gone (deleted while we were down)."""
        with self._lock:
            busy = {local_name(ns, name) for (ns, name), w in self._workers.items() if w.alive()}
        wanted = {local_name(i["metadata"]["namespace"], i["metadata"]["name"]) for i in items}
        for cluster in LocalCluster.list(self.root / "cassandra"):
            if cluster.name not in wanted | busy:
                log.info("destroying local cluster %s: its K8ssandraCluster is gone", cluster.name)
                cluster.destroy()

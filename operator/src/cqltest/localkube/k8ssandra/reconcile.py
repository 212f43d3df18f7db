"""One K8ssandraCluster's worker: a thread that makes the local cluster and the published objects
match the object, level-triggered.

Each pass reads the object and acts on what it finds, so a missed event, a controller restart
(the local cluster is found again by its name under the root) or a retry after a failure all
take the same path. A pass blocks while Cassandra starts (cass-operator's reconcile would
requeue instead); one thread per cluster keeps clusters independent. Writes happen only when
something changed, so the watch events our own writes cause end in a pass that does nothing.
"""

from __future__ import annotations

import datetime
import logging
import secrets
import shutil
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cqltest.errors import CqltestError
from cqltest.local import LocalCluster
from cqltest.localkube.agent.api import Api, ApiError
from cqltest.localkube.errors import LocalkubeError
from cqltest.localkube.k8ssandra import cni, crd, hostids, objects, publish, status
from cqltest.localkube.k8ssandra.credentials import SecretReader
from cqltest.localkube.k8ssandra.publish import MERGE, Publisher
from cqltest.localkube.k8ssandra.translate import SpecError, Translation, local_name, translate

#: Seconds between passes when nothing wakes the worker (node liveness, missing secrets).
RESYNC = 5.0
#: A fresh cluster's start-up budget (several JVMs on a small machine), and one node's restart.
START_TIMEOUT = 300.0
NODE_TIMEOUT = 180.0

log = logging.getLogger(__name__)


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ClusterWorker:
    """Serves the K8ssandraCluster ``namespace/name`` until it is deleted."""

    def __init__(self, api: Api, namespace: str, name: str, node: str, root: Path) -> None:
        self.api = api
        self.namespace, self.name = namespace, name
        self.node = node
        self.root = root
        self.path = f"/apis/{crd.GROUP}/{crd.VERSION}/namespaces/{namespace}/{crd.PLURAL}/{name}"
        self.status_path = f"{self.path}/status"
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(
            target=self._run, name=f"k8c {namespace}/{name}", daemon=True
        )
        self.cluster: LocalCluster | None = None
        self.translation: Translation | None = None
        self.publisher: Publisher | None = None
        self.enforcer: cni.Enforcer | None = None
        self.failed_generation: int | None = None
        #: indices of nodes that answer CQL (their Pods Ready), and host IDs once known
        self.ready: set[int] = set()
        self.host_ids: dict[int, str] = {}

    def start(self) -> None:
        self.thread.start()

    def alive(self) -> bool:
        return self.thread.is_alive()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                if self.reconcile():
                    return
            except Exception:  # keep serving: the next pass starts from what it reads
                log.exception("%s/%s: reconcile failed", self.namespace, self.name)
            self.wake.wait(RESYNC)
            self.wake.clear()

    # ----------------------------------------------------------------- one pass

    def reconcile(self) -> bool:
        """One pass; True once the object is gone and everything of it is cleaned up."""
        read = self.api.get_or_none(self.path)
        if read is None:  # deleted while no worker ran, or its finalizer removed by hand
            self._destroy_local()
            Publisher.delete_owned(
                self.api,
                self.namespace,
                lambda owner: owner.get("kind") == crd.KIND and owner.get("name") == self.name,
                ["Pod"],  # the rest is the garbage collector's
            )
            return True
        if read["metadata"].get("deletionTimestamp"):
            return self._delete(read)
        body = self._ensure_finalizer(read)
        generation = int(body["metadata"].get("generation") or 0)
        if self.failed_generation == generation:
            return False  # a start that failed is retried when the spec changes, as upstream
        if self.cluster is None:
            try:
                translation = translate(body)
            except SpecError as exc:
                self._fail(body, str(exc), latch=True)
                return False
            try:
                self._prepare(body, translation)
            except LocalkubeError as exc:  # a Secret missing or unreadable: retried each RESYNC
                self._fail(body, str(exc), latch=False)
                return False
        assert self.publisher is not None
        self.publisher.owner = objects.owner_reference(body)
        if not self.ready:
            self._start(body)
            return False
        self._heal_pods(body)
        assert self.enforcer is not None
        assert self.cluster is not None
        self.enforcer.report(self.cluster, self.publisher)
        unsupported = self._unsupported_change(body)
        if unsupported:
            self._fail(body, unsupported, latch=False)
        else:
            self._write_status(body)  # a spec change that changes nothing here is observed
        return False

    def _unsupported_change(self, body: Mapping[str, Any]) -> str | None:
        """Why the running cluster cannot follow the object's spec, if it cannot."""
        try:
            wanted = translate(body)
        except SpecError as exc:
            return str(exc)
        if wanted == self.translation:
            return None
        return (
            "changing spec.cassandra of a running K8ssandraCluster is not supported by "
            "localkube (the local cluster keeps its first spec): delete it and create it again"
        )

    def _prepare(self, body: Mapping[str, Any], translation: Translation) -> None:
        """Gather the object's secrets and create (or find again) its local cluster."""
        owner = objects.owner_reference(body)
        secrets_ = SecretReader(self.api, translation.namespace)
        publisher = Publisher(self.api, translation, self.node, owner)
        if translation.generate_superuser:
            publisher.ensure(
                objects.superuser_secret(translation, owner, secrets.token_urlsafe(15))
            )
        superuser = secrets_.superuser(translation.superuser_secret)
        root = self.root / "cassandra"
        if LocalCluster.exists(translation.local_name, root):
            cluster = LocalCluster.load(translation.local_name, root)
        else:
            staging = self.root / "k8ssandra-stores" / translation.local_name
            try:
                client = secrets_.write_stores(translation.client_stores, staging / "client")
                internode = secrets_.write_stores(
                    translation.internode_stores, staging / "internode"
                )
                spec = translation.cluster_spec(superuser, client, internode)
                try:
                    cluster = LocalCluster.create(spec, root)
                except CqltestError as exc:
                    raise SpecError(f"cannot create the local cluster: {exc}") from exc
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        self.translation, self.cluster, self.publisher = translation, cluster, publisher
        self.enforcer = cni.Enforcer(self.api, translation)
        publisher.ensure_services()
        self._annotate(body, translation)

    def _start(self, body: Mapping[str, Any]) -> None:
        """Start every node (or wait for those that run after a controller restart)."""
        assert self.cluster is not None
        assert self.publisher is not None
        pods = objects.node_pods(self._translation())
        # after a controller restart the nodes still run: their Pods stay Ready meanwhile
        liveness = self.cluster.status()
        for pod in pods:
            up = liveness[self.cluster.state.nodes[pod.index].plan.address] == "UP"
            self._ensure_pod(pod, ready=up)
        self._write_status(body)
        log.info("%s/%s: starting %d nodes", self.namespace, self.name, len(pods))
        try:
            self.cluster.start(timeout=START_TIMEOUT)
        except CqltestError as exc:
            # the message carries the log tail; a changed spec starts from scratch
            self._destroy_local()
            self._fail(body, str(exc), latch=True)
            return
        self.ready = set(range(len(pods)))
        self._publish_ready(body)

    def _heal_pods(self, body: Mapping[str, Any]) -> None:
        """A deleted node Pod restarts its node, as the StatefulSet would recreate it; a node
        that died on its own is started again, as the kubelet restarts a container."""
        assert self.cluster is not None
        assert self.publisher is not None
        pods = objects.node_pods(self._translation())
        existing = self.publisher.existing_pods()
        if self._namespace_terminating(pods, existing):
            for terminating in existing.values():  # no restarts: the K8ssandraCluster goes next
                self.publisher.remove_pod(terminating)
            return
        liveness = self.cluster.status()  # PAUSED (a fault injected on purpose) is left alone
        nodes = self.cluster.state.nodes
        for pod in pods:
            current = existing.get(pod.name)
            deleting = current is None or current["metadata"].get("deletionTimestamp")
            down = liveness[nodes[pod.index].plan.address] == "DOWN"
            if not deleting and not down and pod.index in self.ready:
                continue
            self._restart(body, pod, current)

    def _namespace_terminating(
        self, pods: list[objects.NodePod], existing: Mapping[str, Mapping[str, Any]]
    ) -> bool:
        """Pods deleted because their namespace is (asked only when a Pod is gone or going)."""
        if all(
            pod.name in existing and not existing[pod.name]["metadata"].get("deletionTimestamp")
            for pod in pods
        ):
            return False
        namespace = self.api.get_or_none(f"/api/v1/namespaces/{self.namespace}") or {}
        return bool(namespace.get("metadata", {}).get("deletionTimestamp"))

    def _restart(
        self, body: Mapping[str, Any], pod: objects.NodePod, current: Mapping[str, Any] | None
    ) -> None:
        assert self.cluster is not None
        assert self.publisher is not None
        address = self.cluster.state.nodes[pod.index].plan.address
        self.ready.discard(pod.index)
        if current is None or current["metadata"].get("deletionTimestamp"):
            # gone before we saw it terminating, or a grace period of 0: the kubelet kills
            forced = current is None or current["metadata"].get("deletionGracePeriodSeconds") == 0
            how = "killed (SIGKILL)" if forced else "stopped (SIGTERM: drained)"
            message = f"pod {pod.name} deleted: node {address} {how}, restarting"
            log.info("%s/%s: %s", self.namespace, self.name, message)
            (self.cluster.kill_node if forced else self.cluster.stop_node)(address)
            self.publisher.event("NodeKilled" if forced else "NodeStopped", message)
            if current is not None:
                self.publisher.remove_pod(current)
            self.publisher.recreated(pod.name)
        else:
            log.info("%s/%s: node of %s is down: restarting", self.namespace, self.name, pod.name)
            self.publisher.restarted(pod.name)
        self._ensure_pod(pod, ready=False)
        try:
            self.cluster.start_node(address, timeout=NODE_TIMEOUT)
        except CqltestError as exc:
            self._fail(body, str(exc), latch=False)
            return
        self.ready.add(pod.index)
        self._publish_ready(body)

    # ----------------------------------------------------------------- publishing

    def _translation(self) -> Translation:
        assert self.translation is not None
        return self.translation

    def _ensure_pod(self, pod: objects.NodePod, *, ready: bool) -> None:
        assert self.cluster is not None
        assert self.publisher is not None
        address = self.cluster.state.nodes[pod.index].plan.address
        log_file = str(self.cluster.node_files(address).system_log)
        self.publisher.ensure_pod(pod, address, ready=ready, log_file=log_file)

    def _publish_ready(self, body: Mapping[str, Any]) -> None:
        assert self.cluster is not None
        assert self.publisher is not None
        for index in sorted(self.ready - set(self.host_ids)):
            host_id = hostids.read(self.cluster, index)
            if host_id:
                self.host_ids[index] = host_id
        for pod in objects.node_pods(self._translation()):
            self._ensure_pod(pod, ready=pod.index in self.ready)
        fresh = self.api.get_or_none(self.path) or body
        self._write_status(fresh)
        log.info("%s/%s: ready", self.namespace, self.name)

    def _write_status(self, body: Mapping[str, Any]) -> None:
        assert self.cluster is not None
        translation = self._translation()
        previous = body.get("status") or {}
        generation = int(body["metadata"].get("generation") or 0)
        stamp = now()
        pods = objects.node_pods(translation)
        nodes = self.cluster.state.nodes
        datacenters = {}
        for dc in translation.datacenters:
            members = [pod for pod in pods if pod.datacenter.key == dc.key]
            statuses = [
                status.NodeStatus(
                    pod.name,
                    nodes[pod.index].plan.address,
                    pod.rack,
                    self.host_ids.get(pod.index, ""),
                )
                for pod in members
                if pod.index in self.ready
            ]
            ready = all(pod.index in self.ready for pod in members)
            datacenters[dc.key] = status.datacenter_status(
                dc,
                ready,
                statuses,
                generation,
                stamp,
                (previous.get("datacenters") or {}).get(dc.key),
            )
        self._patch_status(
            previous, status.cluster_status(datacenters, generation, stamp, previous)
        )

    def _fail(self, body: Mapping[str, Any], message: str, *, latch: bool) -> None:
        log.error("%s/%s: %s", self.namespace, self.name, message)
        generation = int(body["metadata"].get("generation") or 0)
        if latch:
            self.failed_generation = generation
        previous = body.get("status") or {}
        self._patch_status(previous, status.error_status(message, generation, previous))

    def _patch_status(self, previous: Mapping[str, Any], desired: Mapping[str, Any]) -> None:
        if status.unchanged_by(previous, desired):
            return
        try:
            self.api.request(
                "PATCH", self.status_path, body={"status": desired}, content_type=MERGE
            )
        except ApiError as exc:
            if exc.status != 404:
                raise

    # ----------------------------------------------------------------- metadata and deletion

    def _ensure_finalizer(self, body: Mapping[str, Any]) -> Mapping[str, Any]:
        finalizers = list(body["metadata"].get("finalizers") or [])
        if objects.FINALIZER in finalizers:
            return body
        changes = {"finalizers": [*finalizers, objects.FINALIZER]}
        return self._patch_metadata(body, changes) or body

    def _annotate(self, body: Mapping[str, Any], translation: Translation) -> None:
        """k8ssandra-operator's early sign that reconcile started: the first DC's system RF."""
        first = translation.datacenters[0]
        value = f'{{"{first.cassandra_name}":{min(3, first.size)}}}'
        annotations = body["metadata"].get("annotations") or {}
        if annotations.get(INITIAL_REPLICATION) != value:
            self._patch_metadata(body, {"annotations": {INITIAL_REPLICATION: value}})

    def _patch_metadata(
        self, body: Mapping[str, Any], changes: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """The patched object; None if it changed meanwhile (the next pass tries again)."""
        # resourceVersion: a concurrent change (another finalizer) makes this fail, not vanish
        patch = {"metadata": {**changes, "resourceVersion": body["metadata"]["resourceVersion"]}}
        try:
            return self.api.request("PATCH", self.path, body=patch, content_type=MERGE)
        except ApiError as exc:
            if exc.status not in (404, 409):
                raise
            self.wake.set()
            return None

    def _delete(self, body: Mapping[str, Any]) -> bool:
        """Destroy the local cluster, delete what was published, then release the object;
        False if the object changed meanwhile (the next pass releases it)."""
        log.info("%s/%s: deleted: destroying its cluster", self.namespace, self.name)
        self._destroy_local()
        uid = body["metadata"]["uid"]
        Publisher.delete_owned(
            self.api, self.namespace, lambda owner: owner.get("uid") == uid, publish.KINDS
        )
        finalizers = [f for f in body["metadata"].get("finalizers") or [] if f != objects.FINALIZER]
        if len(finalizers) == len(body["metadata"].get("finalizers") or []):
            return True
        return self._patch_metadata(body, {"finalizers": finalizers}) is not None

    def _destroy_local(self) -> None:
        name = local_name(self.namespace, self.name)
        root = self.root / "cassandra"
        if LocalCluster.exists(name, root):
            LocalCluster.load(name, root).destroy()  # its nftables table goes with it
        self.cluster, self.enforcer = None, None  # a new cluster's rules are applied in full
        self.ready.clear()
        self.host_ids.clear()


INITIAL_REPLICATION = "k8ssandra.io/initial-system-replication"

"""The node agent: one Node, every Pod bound to it, and their logs.

It lists then watches the pods whose ``spec.nodeName`` is its node (resuming from the last
resourceVersion, relisting after ``410 Gone``) and hands each to a :class:`PodWorker`. Pods
annotated ``localkube.cqltest.dev/stand-in: k8ssandra`` belong to the K8ssandra stand-in and
are never run, updated nor deleted here; if one names a file in ``localkube.cqltest.dev/log-file``,
``kubectl logs`` shows that file (the apiserver asks this node for the logs of every pod bound
to it). A finished pod that gets a ``deletionTimestamp`` is
deleted with grace 0 (the kubelet's last step); when a pod disappears from the API its state
directory is removed.

Restarting the agent: a pod it finds bound, unfinished and with a state directory was started
by a previous agent whose processes can no longer be supervised. Their recorded process groups
are killed; a ``restartPolicy: Never`` pod that had started a container is marked Failed
(reason ``NodeAgentRestarted``), others are started afresh, as a kubelet restarts containers
it lost.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cqltest.localkube.agent import containers, statuses
from cqltest.localkube.agent.api import STRATEGIC, Api, ApiError
from cqltest.localkube.agent.logserver import LogServer
from cqltest.localkube.agent.node import NodeKeeper, allocatable
from cqltest.localkube.agent.pods import PodContext, PodWorker

log = logging.getLogger(__name__)

STAND_IN_ANNOTATION = "localkube.cqltest.dev/stand-in"
#: On a stand-in's pod: a file `kubectl logs` shows for it (a Cassandra node's system.log).
LOG_FILE_ANNOTATION = "localkube.cqltest.dev/log-file"
RESTART_REASON = "NodeAgentRestarted"


def ignored(pod: dict[str, Any]) -> bool:
    """Pods another localkube component serves (the K8ssandra stand-in's)."""
    return STAND_IN_ANNOTATION in (pod["metadata"].get("annotations") or {})


class Agent:
    def __init__(self, api: Api, node: str, state_dir: Path, port: int) -> None:
        self.api, self.node, self.state_dir, self.port = api, node, state_dir, port
        (state_dir / "pods").mkdir(parents=True, exist_ok=True)
        self.ctx = PodContext(api, node, state_dir, allocatable(state_dir))
        self.keeper = NodeKeeper(api, node, port, self.ctx.allocatable)
        self.workers: dict[str, PodWorker] = {}
        self.names: dict[tuple[str, str], str] = {}
        self.stand_in_logs: dict[tuple[str, str], Path] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.log_server = LogServer(port, self.locate, state_dir / "node-agent")

    # ------------------------------------------------------------ running

    def run(self) -> None:
        """Serve until :meth:`stop`; then stop every pod's processes and return."""
        self.keeper.register()
        self.keeper.start()
        self.log_server.start()
        threading.Thread(target=self._watch_loop, name="pod watch", daemon=True).start()
        self.stopping.wait()
        self.keeper.stop()
        with self.lock:
            workers = list(self.workers.values())
        for worker in workers:
            worker.shutdown()
        for worker in workers:
            worker.finished.wait(self.ctx.shutdown_grace + 5)
        self.log_server.shutdown()

    def stop(self) -> None:
        self.stopping.set()

    def _watch_loop(self) -> None:
        path = "/api/v1/pods"
        selector = f"spec.nodeName={self.node}"
        first = True
        version = ""
        while not self.stopping.is_set():
            try:
                if not version:
                    listing = self.api.get(path, fieldSelector=selector)
                    self._reconcile(listing.get("items", []), adopt=first)
                    first = False
                    version = listing["metadata"]["resourceVersion"]
                for event in self.api.watch(path, version, fieldSelector=selector):
                    obj = event["object"]
                    version = obj.get("metadata", {}).get("resourceVersion", version)
                    if event["type"] in ("ADDED", "MODIFIED"):
                        self._dispatch(obj)
                    elif event["type"] == "DELETED":
                        self._removed(obj)
            except ApiError as exc:
                if exc.status == 410:
                    version = ""  # too old: relist
                    continue
                log.warning("pod watch failed: %s", exc)
                time.sleep(1)
            except Exception as exc:  # connection reset, apiserver restarting
                if self.stopping.is_set():
                    return
                log.warning("pod watch interrupted: %s", exc)
                time.sleep(1)

    def _reconcile(self, pods: list[dict[str, Any]], *, adopt: bool) -> None:
        """Bring the workers in line with a full listing (start, or after a relist)."""
        present = {pod["metadata"]["uid"] for pod in pods}
        with self.lock:
            vanished = [w.pod for uid, w in self.workers.items() if uid not in present]
        for pod in vanished:
            self._removed(pod)
        for pod in pods:
            if adopt and self._leftover(pod):
                continue
            self._dispatch(pod)

    def _leftover(self, pod: dict[str, Any]) -> bool:
        """Handle a pod a previous agent started; True when nothing more is to be done."""
        if ignored(pod) or _finished(pod):
            return False
        pod_dir = self.state_dir / "pods" / pod["metadata"]["uid"]
        if not pod_dir.exists():
            return False
        started = any(pod_dir.glob("*.pgid"))
        containers.kill_recorded(pod_dir)
        if not started or pod["spec"].get("restartPolicy", "Always") != "Never":
            shutil.rmtree(pod_dir, ignore_errors=True)
            return False
        self._fail_leftover(pod)
        return True

    def _fail_leftover(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        terminated = {
            "exitCode": 137, "reason": RESTART_REASON, "finishedAt": statuses.now(),
            "startedAt": pod.get("status", {}).get("startTime") or statuses.now(),
            "message": "the node agent restarted and lost this container's process",
        }  # fmt: skip
        container_statuses = [
            {"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": False,
             "restartCount": 0, "state": {"terminated": terminated}}
            for c in pod["spec"]["containers"]
        ]  # fmt: skip
        status = {
            "phase": "Failed",
            "reason": RESTART_REASON,
            "message": "the node agent restarted while the pod ran; its processes were killed",
            "containerStatuses": container_statuses,
        }
        path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/status"
        try:
            self.api.request(
                "PATCH", path, body={"metadata": {"uid": meta["uid"]}, "status": status},
                content_type=STRATEGIC,
            )  # fmt: skip
        except ApiError as exc:
            log.warning(
                "pod %s/%s: could not mark it failed: %s", meta["namespace"], meta["name"], exc
            )

    def _dispatch(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        if ignored(pod):
            log_file = (meta.get("annotations") or {}).get(LOG_FILE_ANNOTATION)
            with self.lock:
                if log_file:
                    self.stand_in_logs[(meta["namespace"], meta["name"])] = Path(log_file)
            return
        uid = meta["uid"]
        with self.lock:
            worker = self.workers.get(uid)
            if worker is None and not _finished(pod):
                worker = PodWorker(self.ctx, pod)
                self.workers[uid] = worker
                self.names[(meta["namespace"], meta["name"])] = uid
                worker.start()
                return
        if worker is not None and not worker.finished.is_set():
            worker.update(pod)
        elif meta.get("deletionTimestamp"):  # finished, or its worker gave up on it
            self._delete(pod)

    def _delete(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}"
        body = {"gracePeriodSeconds": 0, "preconditions": {"uid": meta["uid"]}}
        try:
            self.api.request("DELETE", path, body=body)
        except ApiError as exc:
            if exc.status not in (404, 409):
                log.warning("pod %s/%s: delete failed: %s", meta["namespace"], meta["name"], exc)

    def _removed(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        with self.lock:
            self.stand_in_logs.pop((meta["namespace"], meta["name"]), None)
            worker = self.workers.pop(meta["uid"], None)
            if self.names.get((meta["namespace"], meta["name"])) == meta["uid"]:
                del self.names[(meta["namespace"], meta["name"])]
        if worker is not None:
            worker.gone()
            if not worker.finished.is_set():
                return  # the worker removes its directory once its processes are gone
        shutil.rmtree(self.state_dir / "pods" / meta["uid"], ignore_errors=True)

    # ------------------------------------------------------------ logs

    def locate(
        self, namespace: str, pod: str, container: str
    ) -> tuple[Path, Path, Callable[[], bool]] | None:
        with self.lock:
            uid = self.names.get((namespace, pod))
            worker = self.workers.get(uid) if uid else None
            stand_in_log = self.stand_in_logs.get((namespace, pod))
        if stand_in_log is not None:
            # Followed for as long as the pod exists; there is no previous run to show.
            return (
                stand_in_log,
                stand_in_log.with_name(stand_in_log.name + ".no-previous"),
                lambda: (namespace, pod) in self.stand_in_logs,
            )
        running: Callable[[], bool] = lambda: False  # noqa: E731
        if worker is not None:
            pod_dir = worker.files.dir
            running = lambda: worker.is_running(container)  # noqa: E731
        else:
            # Run by a previous agent: its directory still names the pod.
            marker = f"{namespace}/{pod}\n"
            found = [p.parent for p in self.state_dir.glob("pods/*/pod") if p.read_text() == marker]
            if not found:
                return None
            pod_dir = found[0]
        if not (pod_dir / f"{container}.log").exists():
            return None
        return pod_dir / f"{container}.log", pod_dir / f"{container}.previous.log", running


def _finished(pod: dict[str, Any]) -> bool:
    return pod.get("status", {}).get("phase") in ("Succeeded", "Failed")

"""The agent's Node: registered Ready and untainted, with its Lease and heartbeat kept fresh.

The scheduler places pods by taints, ``unschedulable`` and allocatable cpu/memory/pods; it
never reads the Ready condition. So the Node advertises this machine's CPUs, memory and disk,
110 pods (the kubelet's default), the InternalIP 127.0.0.1 (pods run on the host network) and
the agent's log port as ``daemonEndpoints.kubeletEndpoint.Port``; the
``node.kubernetes.io/not-ready`` taint that the TaintNodesByCondition admission plugin may add
is removed, since no node-lifecycle controller would. The Lease in ``kube-node-lease`` and the
Ready heartbeat are renewed every 10 s as the kubelet does, for tools that look at them.
"""

from __future__ import annotations

import datetime
import logging
import os
import platform
import threading
from pathlib import Path
from typing import Any

from cqltest.localkube.agent.api import MERGE, STRATEGIC, Api, ApiError
from cqltest.localkube.agent.statuses import now

log = logging.getLogger(__name__)

RENEW_SECONDS = 10.0
LEASE_SECONDS = 40
NOT_READY_TAINTS = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")
MAX_PODS = "110"
_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}


def _memory_bytes() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def allocatable(state_dir: Path) -> dict[str, str]:
    """What this machine offers pods: all CPUs, all memory, the state disk, 110 pods."""
    disk = os.statvfs(state_dir)
    return {
        "cpu": str(os.cpu_count() or 1),
        "memory": f"{_memory_bytes() // 1024}Ki",
        "ephemeral-storage": f"{disk.f_bavail * disk.f_frsize // 1024}Ki",
        "pods": MAX_PODS,
    }


def _machine_id() -> str:
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            return Path(path).read_text().strip()
        except OSError:
            continue
    return ""


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _conditions() -> list[dict[str, Any]]:
    stamp = now()
    quiet = [
        ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ]
    result = [
        {"type": kind, "status": "False", "reason": reason, "message": message,
         "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}
        for kind, reason, message in quiet
    ]  # fmt: skip
    result.append(
        {"type": "Ready", "status": "True", "reason": "KubeletReady",
         "message": "localkube node agent is posting ready status",
         "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}
    )  # fmt: skip
    return result


class NodeKeeper:
    """Registers the Node and keeps its Lease and Ready heartbeat from a daemon thread."""

    def __init__(self, api: Api, name: str, port: int, resources: dict[str, str]) -> None:
        self.api, self.name, self.port, self.resources = api, name, port, resources
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew_loop, name="node-lease", daemon=True)
        self._uid = ""

    def register(self) -> None:
        """Create (or adopt) the Node, clear not-ready taints, post status, take the Lease."""
        body = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.name,
                "labels": {
                    "kubernetes.io/hostname": self.name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": _ARCH.get(platform.machine(), platform.machine()),
                    "localkube.cqltest.dev/node-agent": "true",
                },
            },
            "spec": {},
        }
        try:
            node = self.api.request("POST", "/api/v1/nodes", body=body)
        except ApiError as exc:
            if exc.status != 409:
                raise
            node = self.api.get(f"/api/v1/nodes/{self.name}")
        self._uid = str(node["metadata"]["uid"])
        taints = node.get("spec", {}).get("taints") or []
        kept = [t for t in taints if t.get("key") not in NOT_READY_TAINTS]
        if kept != taints or node.get("spec", {}).get("unschedulable"):
            self.api.request(
                "PATCH", f"/api/v1/nodes/{self.name}",
                body={"spec": {"taints": kept or None, "unschedulable": None}},
                content_type=MERGE,
            )  # fmt: skip
        self._post_status(full=True)
        self._renew_lease()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _post_status(self, *, full: bool) -> None:
        heartbeat = [{"type": "Ready", "status": "True", "lastHeartbeatTime": now()}]
        # Conditions merge by type: a heartbeat only moves lastHeartbeatTime.
        status: dict[str, Any] = {"conditions": _conditions() if full else heartbeat}
        if full:
            version = self.api.get("/version").get("gitVersion", "")
            uname = os.uname()
            status |= {
                "capacity": self.resources,
                "allocatable": self.resources,
                "addresses": [
                    {"type": "InternalIP", "address": "127.0.0.1"},
                    {"type": "Hostname", "address": self.name},
                ],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": self.port}},
                "nodeInfo": {
                    "machineID": _machine_id(),
                    "systemUUID": _machine_id(),
                    "bootID": _boot_id(),
                    "kernelVersion": uname.release,
                    "osImage": platform.platform(),
                    "containerRuntimeVersion": "localkube://processes",
                    "kubeletVersion": version,
                    "kubeProxyVersion": "",
                    "operatingSystem": "linux",
                    "architecture": _ARCH.get(uname.machine, uname.machine),
                },
            }
        self.api.request(
            "PATCH", f"/api/v1/nodes/{self.name}/status",
            body={"status": status}, content_type=STRATEGIC,
        )  # fmt: skip

    def _renew_lease(self) -> None:
        path = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{self.name}"
        renew = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        spec = {
            "holderIdentity": self.name,
            "leaseDurationSeconds": LEASE_SECONDS,
            "renewTime": renew,
        }
        try:
            self.api.request("PATCH", path, body={"spec": spec}, content_type=MERGE)
        except ApiError as exc:
            if exc.status != 404:
                raise
            owner = {"apiVersion": "v1", "kind": "Node", "name": self.name, "uid": self._uid}
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.name, "ownerReferences": [owner]},
                "spec": spec,
            }
            self.api.request(
                "POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
                body=body,
            )  # fmt: skip

    def _renew_loop(self) -> None:
        while not self._stop.wait(RENEW_SECONDS):
            try:
                self._renew_lease()
                self._post_status(full=False)
            except Exception as exc:  # keep renewing through apiserver hiccups
                log.warning("node %s: lease/heartbeat renewal failed: %s", self.name, exc)

"""Pod status documents as the kubelet writes them (``pods/status``), from the agent's view.

The Job controller, ``kubectl`` and the operator read these fields, so their shapes follow the
kubelet (``pkg/kubelet/kubelet_pods.go`` ``getPhase``/``generateAPIPodStatus``,
``pkg/kubelet/status/generate.go``): container states waiting/running/terminated with
``lastState`` and ``restartCount``; terminated reasons ``Completed`` (exit 0) or ``Error``;
a process killed by signal N exits ``128+N`` (as runc reports it) with ``signal`` set; the
conditions PodReadyToStartContainers, Initialized, ContainersReady and Ready keep their
``lastTransitionTime`` until their status flips. Termination messages follow
``pkg/kubelet/kuberuntime/kuberuntime_container.go``: the last 4096 bytes per container (and
12 KiB per pod), and with ``FallbackToLogsOnError`` the last 2048 bytes / 80 lines of the log
when the file is empty and the container failed. Pure.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cqltest.localkube.agent.fields import POD_IP

MAX_MESSAGE_BYTES = 4096
MAX_POD_MESSAGE_BYTES = 12 * 1024
FALLBACK_LOG_BYTES = 2048
FALLBACK_LOG_LINES = 80


def now() -> str:
    """RFC 3339 at second precision, the API's ``metav1.Time`` format."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Terminated:
    exit_code: int
    started_at: str
    finished_at: str
    message: str = ""
    signal: int | None = None
    container_id: str = ""
    reason: str = ""

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "exitCode": self.exit_code,
            "reason": self.reason or ("Completed" if self.exit_code == 0 else "Error"),
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
        }
        if self.message:
            doc["message"] = self.message
        if self.signal:
            doc["signal"] = self.signal
        if self.container_id:
            doc["containerID"] = self.container_id
        return doc


@dataclass
class ContainerRun:
    """What the agent knows about one container; exactly one of the three states holds."""

    name: str
    image: str
    restart_count: int = 0
    waiting_reason: str | None = "ContainerCreating"
    waiting_message: str = ""
    started_at: str | None = None
    container_id: str = ""
    terminated: Terminated | None = None
    last_terminated: Terminated | None = None

    def set_waiting(self, reason: str, message: str = "") -> None:
        self.waiting_reason, self.waiting_message = reason, message
        self.started_at = None
        if self.terminated is not None:
            self.last_terminated, self.terminated = self.terminated, None

    def set_running(self, started_at: str, container_id: str) -> None:
        if self.terminated is not None:
            self.last_terminated, self.terminated = self.terminated, None
        self.waiting_reason, self.waiting_message = None, ""
        self.started_at, self.container_id = started_at, container_id

    def set_terminated(self, terminated: Terminated) -> None:
        self.waiting_reason, self.started_at, self.terminated = None, None, terminated

    @property
    def running(self) -> bool:
        return self.started_at is not None

    @property
    def succeeded(self) -> bool:
        return self.terminated is not None and self.terminated.exit_code == 0

    def document(self) -> dict[str, Any]:
        state: dict[str, Any]
        if self.terminated is not None:
            state = {"terminated": self.terminated.document()}
        elif self.started_at is not None:
            state = {"running": {"startedAt": self.started_at}}
        else:
            waiting: dict[str, Any] = {"reason": self.waiting_reason or "ContainerCreating"}
            if self.waiting_message:
                waiting["message"] = self.waiting_message
            state = {"waiting": waiting}
        doc: dict[str, Any] = {
            "name": self.name,
            "image": self.image,
            "imageID": "",
            "ready": self.running,
            "started": self.running,
            "restartCount": self.restart_count,
            "state": state,
            "lastState": (
                {"terminated": self.last_terminated.document()} if self.last_terminated else {}
            ),
        }
        if self.container_id:
            doc["containerID"] = self.container_id
        return doc


def phase(restart_policy: str, init: Sequence[ContainerRun], main: Sequence[ContainerRun]) -> str:
    """The pod phase (kubelet ``getPhase``) from its containers' states."""
    for container in init:
        if container.succeeded:
            continue
        if container.terminated is not None and restart_policy == "Never":
            return "Failed"
        return "Pending"
    if any(c.running for c in main):
        return "Running"
    if all(c.terminated is not None for c in main):
        if restart_policy == "Always":
            return "Running"
        if all(c.succeeded for c in main):
            return "Succeeded"
        return "Running" if restart_policy == "OnFailure" else "Failed"
    if any(c.terminated is not None or c.last_terminated is not None for c in main):
        return "Running"
    return "Pending"


def _condition(
    kind: str, ok: bool, previous: Mapping[str, Mapping[str, Any]], reason: str = "",
    message: str = "",
) -> dict[str, Any]:  # fmt: skip
    status = "True" if ok else "False"
    before = previous.get(kind) or {}
    since = before.get("lastTransitionTime") if before.get("status") == status else None
    doc: dict[str, Any] = {
        "type": kind,
        "status": status,
        "lastProbeTime": None,
        "lastTransitionTime": since or now(),
    }
    if reason:
        doc["reason"] = reason
    if message:
        doc["message"] = message
    return doc


def conditions(
    pod_phase: str,
    init: Sequence[ContainerRun],
    main: Sequence[ContainerRun],
    previous: Sequence[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """The four kubelet-owned conditions (PodScheduled belongs to the scheduler)."""
    before = {str(c.get("type")): c for c in previous}
    done = pod_phase in ("Succeeded", "Failed")
    completed = "PodCompleted" if pod_phase == "Succeeded" else "PodFailed"
    initialized = all(c.succeeded for c in init)
    pending_init = [c.name for c in init if not c.succeeded]
    unready = [c.name for c in main if not c.running]
    unready_reason = completed if done else "ContainersNotReady"
    unready_message = "" if done else f"containers with unready status: [{' '.join(unready)}]"
    return [
        _condition("PodReadyToStartContainers", not done, before),
        _condition(
            "Initialized", initialized, before,
            "PodCompleted" if done and initialized and init else
            ("" if initialized else "ContainersNotInitialized"),
            "" if initialized else
            f"containers with incomplete status: [{' '.join(pending_init)}]",
        ),
        _condition("Ready", not unready, before, "" if not unready else unready_reason,
                   "" if not unready else unready_message),
        _condition("ContainersReady", not unready, before, "" if not unready else unready_reason,
                   "" if not unready else unready_message),
    ]  # fmt: skip


def pod_status(
    *,
    pod_phase: str,
    start_time: str | None,
    init: Sequence[ContainerRun],
    main: Sequence[ContainerRun],
    previous_conditions: Sequence[Mapping[str, Any]] = (),
    reason: str = "",
    message: str = "",
    generation: int | None = None,
) -> dict[str, Any]:
    """The ``status`` body to patch; ``reason``/``message`` for pod-level failures
    (``DeadlineExceeded``); ``generation``: the spec it reflects (``observedGeneration``).
    ``qosClass`` is left out: the apiserver sets it at creation and rejects any change."""
    status: dict[str, Any] = {
        "phase": pod_phase,
        "hostIP": POD_IP,
        "hostIPs": [{"ip": POD_IP}],
        "podIP": POD_IP,
        "podIPs": [{"ip": POD_IP}],
        "conditions": conditions(pod_phase, init, main, previous_conditions),
        "containerStatuses": [c.document() for c in main],
        "reason": reason or None,
        "message": message or None,
    }
    if init:
        status["initContainerStatuses"] = [c.document() for c in init]
    if start_time:
        status["startTime"] = start_time
    if generation is not None:
        status["observedGeneration"] = generation
    return status


def message_limit(containers: int) -> int:
    """Bytes of termination message allowed per container of a pod with this many."""
    return min(MAX_MESSAGE_BYTES, MAX_POD_MESSAGE_BYTES // max(containers, 1))


def log_tail(log: bytes, max_lines: int, max_bytes: int) -> bytes:
    """The last ``max_lines`` lines within the last ``max_bytes`` bytes."""
    tail = log[-max_bytes:] if max_bytes > 0 else log
    lines = tail.splitlines(keepends=True)
    return b"".join(lines[-max_lines:]) if max_lines >= 0 else tail


def termination_message(
    file_data: bytes, policy: str, exit_code: int, log: bytes, limit: int = MAX_MESSAGE_BYTES
) -> str:
    """What ``state.terminated.message`` says for this container."""
    data = file_data[-limit:] if limit > 0 else b""  # kubelet: tail.ReadAtMost, the end
    if not data and policy == "FallbackToLogsOnError" and exit_code != 0:
        data = log_tail(log, FALLBACK_LOG_LINES, min(FALLBACK_LOG_BYTES, limit))
    return data.decode(errors="replace")


def exit_status(returncode: int) -> tuple[int, int | None]:
    """(exitCode, signal) from a Popen returncode (negative when killed by a signal)."""
    if returncode < 0:
        return 128 - returncode, -returncode
    return returncode, None

"""One thread per pod: the kubelet's pod lifecycle for processes.

A :class:`PodWorker` prepares the pod's volumes and ``/etc/hosts``, runs the init containers one
after the other, then all containers at once, and writes every change of state through
``pods/status`` as the kubelet does (see ``statuses``). It waits on one queue fed by the agent
(pod updates, agent shutdown, pod removal) and by one waiter thread per process (exits), so it
reacts to an exit or a deletion at once instead of polling. Restarts follow ``restartPolicy``
with the kubelet's back-off as of ``ReduceDefaultCrashLoopBackOffDecay`` (1 s doubling to
60 s; the first restart is immediate). A configuration the kubelet cannot build yet (a missing
Secret key, a missing volume source) is retried with the same back-off while the pod stays
Pending. ``activeDeadlineSeconds`` and deletion both stop the processes (SIGTERM, SIGKILL after
the grace period) and write a final status; a deleted pod is then removed with
``gracePeriodSeconds=0`` (finalizers such as the Job controller's stay with their owners).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from cqltest.localkube.agent import containers, launching, statuses
from cqltest.localkube.agent.api import STRATEGIC, Api, ApiError
from cqltest.localkube.agent.fields import ConfigError
from cqltest.localkube.agent.statuses import ContainerRun, Terminated
from cqltest.localkube.agent.volumes import VolumeError, VolumePlan

log = logging.getLogger(__name__)
T = TypeVar("T")

BACKOFF_INITIAL = 1.0
BACKOFF_MAX = 60.0
DEFAULT_GRACE = 30.0
#: Pauses after a failed status write before the next try (the last pause precedes giving up).
STATUS_RETRIES = (0.1, 0.5, 2.0, 0.0)
DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline"


class _Interrupted(Exception):
    """The pod must stop: deleted (``deleted``), past its deadline (``deadline``), removed from
    the API (``gone``) or the agent is stopping (``shutdown``)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


@dataclass
class _Process:
    run: ContainerRun
    launch: containers.Launch
    popen: subprocess.Popen[bytes]
    generation: int
    spec: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class PodContext:
    """What every worker shares: the API, the node, where state lives."""

    api: Api
    node: str
    state_dir: Path
    allocatable: dict[str, str]
    shutdown_grace: float = 5.0


class PodWorker:
    def __init__(self, ctx: PodContext, pod: dict[str, Any]) -> None:
        self.ctx, self.pod = ctx, pod
        meta, spec = pod["metadata"], pod["spec"]
        self.uid, self.namespace, self.name = meta["uid"], meta["namespace"], meta["name"]
        self.files = launching.PodFiles(ctx.state_dir, pod)
        self.restart_policy = str(spec.get("restartPolicy", "Always"))
        self.init_specs = list(spec.get("initContainers") or [])
        self.main_specs = list(spec.get("containers") or [])
        self.init = [ContainerRun(c["name"], c.get("image", "")) for c in self.init_specs]
        self.main = [ContainerRun(c["name"], c.get("image", "")) for c in self.main_specs]
        if self.init:
            for run in self.main:
                run.waiting_reason = "PodInitializing"
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.processes: dict[str, _Process] = {}
        self.generation = 0
        self.start_time: str | None = None
        self.deadline: float | None = None
        self.conditions: list[dict[str, Any]] = list(pod.get("status", {}).get("conditions", []))
        self.removed = False
        self.phase = ""  # the last phase written
        self.finished = threading.Event()
        self.thread = threading.Thread(target=self._main, name=f"pod {self.name}", daemon=True)

    # ------------------------------------------------------------ called by the agent

    def start(self) -> None:
        self.thread.start()

    def update(self, pod: dict[str, Any]) -> None:
        self.events.put(("pod", pod))

    def gone(self) -> None:
        self.removed = True
        self.events.put(("gone", None))

    def shutdown(self) -> None:
        self.events.put(("shutdown", None))

    def is_running(self, container: str) -> bool:
        process = self.processes.get(container)
        return process is not None and process.popen.returncode is None

    # ------------------------------------------------------------ the lifecycle

    def _main(self) -> None:
        try:
            try:
                self._lifecycle()
            except _Interrupted as stop:
                self._stop(stop.why)
        except _Interrupted:
            self._kill_all(0)  # removed from the API while stopping: nothing left to report
        except Exception:
            log.exception("pod %s/%s: the node agent failed running it", self.namespace, self.name)
            self._kill_all(0)
        finally:
            self.finished.set()
            if self.removed:
                shutil.rmtree(self.files.dir, ignore_errors=True)

    def _lifecycle(self) -> None:
        if self.pod["metadata"].get("deletionTimestamp"):
            raise _Interrupted("deleted")
        self.files.create()
        self.start_time = statuses.now()
        active = self.pod["spec"].get("activeDeadlineSeconds")
        if active is not None:
            self.deadline = time.monotonic() + float(active)
        plans = self._retry(self._prepare, self.init + self.main, "ContainerCreating")
        for run, spec in zip(self.init, self.init_specs, strict=True):
            launch = self._retry(functools.partial(self._launch, spec, plans), [run], "")
            while not self._run_init(run, spec, launch):
                if self.restart_policy == "Never":
                    self._push()  # Failed
                    return
                self._restart_wait(run)
        launches = [
            self._retry(functools.partial(self._launch, spec, plans), [run], "")
            for run, spec in zip(self.main, self.main_specs, strict=True)
        ]
        for run, spec, launch in zip(self.main, self.main_specs, launches, strict=True):
            self._spawn(run, spec, launch)
        self._push()
        self._supervise()

    def _prepare(self) -> list[VolumePlan]:
        plans = launching.prepare_volumes(self.files, self.ctx.api, self.ctx.allocatable)
        self.files.write_hosts(self.ctx.api)
        return plans

    def _launch(self, spec: Mapping[str, Any], plans: list[VolumePlan]) -> containers.Launch:
        return launching.launch_for(self.files, spec, plans, self.ctx.api, self.ctx.allocatable)

    def _retry(self, attempt: Callable[[], T], runs: list[ContainerRun], volume_reason: str) -> T:
        """Call ``attempt`` until it stops raising ConfigError (or an API error, which may pass),
        reporting the error as the kubelet does while the pod waits."""
        delay = BACKOFF_INITIAL
        while True:
            try:
                return attempt()
            except (ConfigError, ApiError) as exc:
                reason = "CreateContainerConfigError"
                if isinstance(exc, VolumeError | ApiError):
                    reason = volume_reason or "ContainerCreating"
                for run in runs:
                    run.set_waiting(reason, str(exc))
                self._push()
                self._wait(delay)
                delay = min(delay * 2, BACKOFF_MAX)

    def _spawn(self, run: ContainerRun, spec: Mapping[str, Any], launch: containers.Launch) -> None:
        self.generation += 1
        path = str(spec.get("terminationMessagePath") or "/dev/termination-log")
        popen = containers.start(launch, path, restart=run.restart_count > 0)
        run.set_running(statuses.now(), f"localkube://{self.uid}/{run.name}/{popen.pid}")
        process = _Process(run, launch, popen, self.generation, spec)
        self.processes[run.name] = process
        threading.Thread(
            target=self._wait_exit, args=(process,), name=f"wait {run.name}", daemon=True
        ).start()

    def _wait_exit(self, process: _Process) -> None:
        # Wait without reaping, so the pid (= pgid) cannot be reused before the group is killed.
        with contextlib.suppress(ChildProcessError):
            os.waitid(os.P_PID, process.popen.pid, os.WEXITED | os.WNOWAIT)
        # The runtime kills a container's cgroup when its init exits: do so for the group.
        containers.signal_group(process.popen.pid, signal.SIGKILL)
        returncode = process.popen.wait()
        self.events.put(("exit", (process, returncode)))

    def _record_exit(self, process: _Process, returncode: int) -> None:
        run, launch = process.run, process.launch
        exit_code, signum = statuses.exit_status(returncode)
        reason, message = "", ""
        start_error = ""
        if exit_code == 128:
            with contextlib.suppress(OSError):
                start_error = launch.start_error_file.read_text(errors="replace")
        if start_error:
            reason, message = "StartError", start_error
        else:
            policy = str(process.spec.get("terminationMessagePolicy") or "File")
            limit = statuses.message_limit(len(self.init) + len(self.main))
            try:
                log_bytes = launch.log.read_bytes() if exit_code != 0 else b""
                message = statuses.termination_message(
                    launch.termination_file.read_bytes(), policy, exit_code,
                    log_bytes, limit,
                )  # fmt: skip
            except OSError:
                message = ""
        started = run.started_at or statuses.now()
        run.set_terminated(
            Terminated(exit_code, started, statuses.now(), message, signum,
                       run.container_id, reason)
        )  # fmt: skip

    def _run_init(
        self, run: ContainerRun, spec: Mapping[str, Any], launch: containers.Launch
    ) -> bool:
        self._spawn(run, spec, launch)
        self._push()
        while self.is_running(run.name) or run.terminated is None:
            self._wait(None)
        return run.succeeded

    def _restart_wait(self, run: ContainerRun) -> None:
        """Back off before restarting `run` (CrashLoopBackOff while waiting)."""
        run.restart_count += 1
        if run.restart_count > 1:
            delay = min(BACKOFF_INITIAL * 2 ** (run.restart_count - 2), BACKOFF_MAX)
            run.set_waiting(
                "CrashLoopBackOff", f"back-off {delay:.0f}s restarting failed container"
            )
            self._push()
            until = time.monotonic() + delay
            while (left := until - time.monotonic()) > 0:
                self._wait(left)

    def _supervise(self) -> None:
        """Restart containers per restartPolicy until every one is finished for good."""
        while True:
            done = [p for p in self.main if p.terminated is not None]
            restart = [
                run for run in done
                if self.restart_policy == "Always"
                or (self.restart_policy == "OnFailure" and not run.succeeded)
            ]  # fmt: skip
            if len(done) == len(self.main) and not restart:
                return
            if not restart:
                self._wait(None)
                continue
            for run in restart:
                spec = self.main_specs[self.main.index(run)]
                self._restart_wait(run)
                self._spawn(run, spec, self.processes[run.name].launch)
                self._push()

    # ------------------------------------------------------------ events

    def _wait(self, timeout: float | None) -> None:
        """Handle one event (or time out); raises _Interrupted to stop the pod."""
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise _Interrupted("deadline")
            timeout = left if timeout is None else min(timeout, left)
        try:
            kind, payload = self.events.get(timeout=timeout)
        except queue.Empty:
            return
        if kind == "exit":
            if self._take_exit(payload):
                self._push()
        elif kind == "pod":
            self.pod = payload
            if payload["metadata"].get("deletionTimestamp"):
                raise _Interrupted("deleted")
        else:
            raise _Interrupted(kind)

    def _take_exit(self, payload: tuple[_Process, int]) -> bool:
        """Record an exit unless it is of a run already replaced by a restart."""
        process, returncode = payload
        if process.generation != self.processes[process.run.name].generation:
            return False
        self._record_exit(process, returncode)
        return True

    # ------------------------------------------------------------ stopping

    def _grace(self, why: str) -> float:
        if why == "shutdown":
            return self.ctx.shutdown_grace
        if why == "gone":
            return 0
        meta, spec = self.pod["metadata"], self.pod["spec"]
        grace = meta.get("deletionGracePeriodSeconds")
        if grace is None:
            grace = spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE)
        return float(grace)

    def _kill_all(self, grace: float) -> None:
        """SIGTERM every running container's group, SIGKILL what is left after `grace`."""
        running = [p for p in self.processes.values() if p.popen.returncode is None]
        for process in running:
            containers.signal_group(process.popen.pid, signal.SIGTERM if grace else signal.SIGKILL)
        until = time.monotonic() + grace
        for process in running:
            try:
                process.popen.wait(timeout=max(until - time.monotonic(), 0))
            except subprocess.TimeoutExpired:
                containers.signal_group(process.popen.pid, signal.SIGKILL)
                process.popen.wait()

    def _stop(self, why: str) -> None:
        log.info("pod %s/%s: stopping its processes (%s)", self.namespace, self.name, why)
        self._kill_all(self._grace(why))
        if why in ("shutdown", "gone"):
            return
        # Exits arrive as events; record them all so the final status carries exit codes.
        while True:
            try:
                kind, payload = self.events.get_nowait()
            except queue.Empty:
                break
            if kind == "exit":
                self._take_exit(payload)
        for process in self.processes.values():
            if process.run.running and process.popen.returncode is not None:
                self._record_exit(process, process.popen.returncode)
        if why == "deadline":
            self._push("Failed", "DeadlineExceeded", DEADLINE_MESSAGE)
        else:
            ok = all(run.succeeded for run in self.main)
            self._push("Succeeded" if ok else "Failed")
            self._delete()

    def _delete(self) -> None:
        path = f"/api/v1/namespaces/{self.namespace}/pods/{self.name}"
        body = {"gracePeriodSeconds": 0, "preconditions": {"uid": self.uid}}
        try:
            self.ctx.api.request("DELETE", path, body=body)
        except ApiError as exc:
            if exc.status not in (404, 409):
                log.warning("pod %s/%s: delete failed: %s", self.namespace, self.name, exc)

    # ------------------------------------------------------------ status

    def _push(self, pod_phase: str = "", reason: str = "", message: str = "") -> None:
        pod_phase = pod_phase or statuses.phase(self.restart_policy, self.init, self.main)
        status = statuses.pod_status(
            pod_phase=pod_phase, start_time=self.start_time, init=self.init, main=self.main,
            previous_conditions=self.conditions, reason=reason, message=message,
            generation=self.pod["metadata"].get("generation"),
        )  # fmt: skip
        self.conditions = status["conditions"]
        if pod_phase != self.phase:
            log.info("pod %s/%s: %s%s", self.namespace, self.name, pod_phase,
                     f" ({reason})" if reason else "")  # fmt: skip
            self.phase = pod_phase
        path = f"/api/v1/namespaces/{self.namespace}/pods/{self.name}/status"
        body = {"metadata": {"uid": self.uid}, "status": status}
        for delay in STATUS_RETRIES:
            try:
                self.ctx.api.request("PATCH", path, body=body, content_type=STRATEGIC)
                return
            except ApiError as exc:
                if exc.status in (404, 409):  # deleted, or a new pod of that name (uid)
                    raise _Interrupted("gone") from None
                failure: Exception = exc
            except Exception as exc:  # the connection dropped, the apiserver restarts
                failure = exc
            time.sleep(delay)
        log.warning("pod %s/%s: status update failed: %s", self.namespace, self.name, failure)

"""Local mode: the engine's loop on one machine, with real Cassandra and suite subprocesses.

The loop is the same as the operator's: observe the world, ``decide``, apply the actions,
``aggregate_status``, until a Finish. Observing is cheap (process exit flags set by waiter
threads, a provisioning thread's outcome), so the loop wakes as soon as anything changes and
otherwise polls at a bounded interval only to notice timeouts; it never sleeps a fixed time.
Provisioning runs in a thread so progress keeps flowing and Ctrl-C is honoured while a cluster
starts. Ctrl-C (SIGINT) or SIGTERM marks the run interrupted: the engine then cancels running
suites and tears down per policy, and the partial status is returned like any other.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from cqltest.engine import (
    Action,
    AttemptObserved,
    CancelSuite,
    ClusterObserved,
    HealFault,
    InjectFault,
    Observed,
    StartSuite,
    child_name,
    step,
)
from cqltest.local.faults import LocalFaults, find_cluster
from cqltest.local.handles import AttachedCluster, ClusterHandle, ProvisionedCluster, local_heap
from cqltest.local.launcher import SuiteProcess, suite_command, suite_environment
from cqltest.local.pooled import PooledCluster
from cqltest.model import SuiteResult, TestRun, TestRunSpec, TestRunStatus
from cqltest.render.environment import Connection

if TYPE_CHECKING:
    from cqltest.local.cluster import LocalCluster

StatusCallback = Callable[[TestRunStatus], None]
POLL_SECONDS = 0.2

log = logging.getLogger("cqltest.local")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def cqltest_home() -> Path:
    """Where local mode keeps clusters and run directories (``$CQLTEST_HOME``)."""
    home = os.environ.get("CQLTEST_HOME")
    return Path(home) if home else Path.home() / ".local" / "share" / "cqltest"


@dataclass(frozen=True)
class RunOptions:
    keep_cluster: bool = False
    """Never tear the provisioned cluster down, whatever the manifest's policy says."""
    workdir: Path | None = None
    """Where attempts write logs and results; default ``$CQLTEST_HOME/runs/<run>/<stamp>``."""
    cluster_root: Path | None = None
    """LocalCluster root; None is LocalCluster's default (``$CQLTEST_HOME/clusters``)."""
    poll_seconds: float = POLL_SECONDS
    handle_signals: bool = True
    """Turn SIGINT/SIGTERM into an orderly interrupt (only possible on the main thread)."""


class LocalRun:
    """One execution of a TestRun in local mode."""

    def __init__(
        self,
        run: TestRun,
        manifest: Path,
        *,
        options: RunOptions | None = None,
        on_status: StatusCallback | None = None,
        handle: ClusterHandle | None = None,
    ) -> None:
        self.options = options or RunOptions()
        self.run = run
        self.spec: TestRunSpec = run.spec
        if self.options.keep_cluster:
            cluster = self.spec.cluster.model_copy(update={"teardown": "Never"})
            self.spec = self.spec.model_copy(update={"cluster": cluster})
        self.manifest_dir = manifest.resolve().parent
        self.on_status = on_status
        existing = self.spec.cluster.existing
        # Checked now, before anything starts, so a bad reference is bad input (exit 2).
        self.handle: ClusterHandle = handle or (
            AttachedCluster(self.spec.cluster, existing, manifest.resolve().parent)
            if existing is not None
            else (PooledCluster if self.spec.cluster.reuse else ProvisionedCluster)(
                self.spec.cluster, run.name, self.options.cluster_root
            )
        )
        if existing is None:
            local_heap(self.spec.cluster.resources.heap if self.spec.cluster.resources else None)
        self.started_at = datetime.now(UTC)
        stamp = self.started_at.strftime("%Y%m%dT%H%M%SZ")
        self.workdir = self.options.workdir or (
            cqltest_home() / "runs" / run.name / f"{stamp}-{os.getpid()}"
        )
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self.faults = LocalFaults(self.spec, self._fault_cluster, self._wake.set)
        self._cluster = ClusterObserved()
        self._connection: Connection | None = None
        self._provisioner: threading.Thread | None = None
        self._processes: dict[tuple[str, int], SuiteProcess] = {}
        self._finals: dict[tuple[str, int], AttemptObserved] = {}
        self._interrupted = False
        self._torn_down = False
        self.status: TestRunStatus | None = None

    # -- control ---------------------------------------------------------------------------

    def interrupt(self) -> None:
        """Ask the run to stop (thread- and signal-safe): suites are cancelled, status kept."""
        self._interrupted = True
        self._wake.set()

    def execute(self) -> TestRunStatus:
        """Run to completion and return the final status (also passed to ``on_status``)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self._signals():
            try:
                return self._loop()
            except BaseException:
                # Crashed or a second Ctrl-C: the run failed, so honour the policy as a failure.
                self._stop_all("the run was aborted")
                if self.spec.cluster.teardown == "Always":
                    self.teardown_cluster()
                raise
            finally:
                self.faults.close()
                if not self._torn_down:
                    try:
                        self.handle.release()
                    except OSError as exc:  # never hide the run's outcome behind this
                        log.warning("could not mark the kept cluster as kept: %s", exc)

    def results(self) -> dict[str, SuiteResult]:
        """Each suite's result from its latest attempt that wrote one (JUnit is built from them)."""
        latest: dict[str, tuple[int, SuiteResult]] = {}
        for name, attempts in self.observe().attempts.items():
            for a in attempts:
                if a.result is None:
                    continue
                if name not in latest or latest[name][0] < a.attempt:
                    latest[name] = (a.attempt, a.result)
        return {name: result for name, (_, result) in latest.items()}

    # -- the loop --------------------------------------------------------------------------

    def _loop(self) -> TestRunStatus:
        while True:
            self._wake.clear()
            turn = step(
                self.spec, self, _utcnow, previous=self.status, on_decide=self._signal_cancels
            )
            assert turn.status is not None
            self.status = turn.status
            if self.on_status is not None:
                self.on_status(turn.status)
            if turn.finish is not None:
                return turn.status
            if not turn.busy:
                self._wake.wait(self.options.poll_seconds)

    def observe(self) -> Observed:
        attempts: dict[str, list[AttemptObserved]] = {}
        with self._lock:
            for key, process in self._processes.items():
                final = self._finals.get(key)
                if final is None and process.exited():
                    final = self._finals[key] = process.observe()
                attempts.setdefault(key[0], []).append(final or process.observe())
            cluster = self._cluster
        return Observed(
            cluster=cluster,
            started_at=self.started_at,
            attempts=attempts,
            interrupted=self._interrupted,
            torn_down=self._torn_down,
            faults=self.faults.observe(),
        )

    # -- actions: the engine's Backend, called by apply_actions ----------------------------

    def provision_cluster(self) -> None:
        if self._provisioner is not None:
            return
        now = datetime.now(UTC)
        dcs = {dc.name: "Provisioning" for dc in self.spec.cluster.datacenters}
        with self._lock:
            self._cluster = ClusterObserved("Provisioning", started_at=now, datacenters=dcs)
        timeout = self.spec.cluster.ready_timeout.total_seconds()
        self._provisioner = threading.Thread(
            target=self._provision_thread, args=(timeout,), name="provision", daemon=True
        )
        self._provisioner.start()

    def _provision_thread(self, timeout: float) -> None:
        try:
            connection = self.handle.start(timeout, self._cluster_event)
        except Exception as exc:  # any failure is the cluster's state, reported in the status
            with self._lock:
                self._cluster = replace(
                    self._cluster,
                    state="Failed",
                    message=f"{type(exc).__name__}: {exc}",
                    name=self.handle.name,
                    datacenters=dict.fromkeys(self._cluster.datacenters, "Failed"),
                )
        else:
            with self._lock:
                self._connection = connection
                dcs = list(connection.topology) or [connection.local_dc or "unknown"]
                self._cluster = replace(
                    self._cluster,
                    state="Ready",
                    message=None,
                    contact_points=connection.contact_points,
                    ready_at=datetime.now(UTC),
                    name=self.handle.name,
                    datacenters=dict.fromkeys(dcs, "Ready"),
                )
        self._wake.set()

    def _cluster_event(self, message: str) -> None:
        with self._lock:
            if self._cluster.state == "Provisioning":
                self._cluster = replace(self._cluster, message=message, name=self.handle.name)
        self._wake.set()

    def start_suite(self, action: StartSuite) -> None:
        key = (action.name, action.attempt)
        if key in self._processes or self._connection is None:
            return
        suite = next(s for s in self.spec.suites if s.name == action.name)
        child = child_name(self.run.name, suite.name, action.attempt)
        env = suite_environment(
            self._connection,
            run=self.run.name,
            suite=suite,
            attempt=action.attempt,
            result_path=self.workdir / f"{child}.result.json",
        )
        process = SuiteProcess(
            name=suite.name,
            attempt=action.attempt,
            argv=suite_command(suite, self.manifest_dir),
            env=env,
            workdir=self.workdir,
            child=child,
            on_exit=self._wake.set,
            own_command=suite.command is not None,
        )
        with self._lock:
            self._processes[key] = process

    def _signal_cancels(self, observed: Observed, now: datetime, actions: list[Action]) -> None:
        """SIGTERM every attempt to cancel at once, so their grace periods overlap."""
        for action in (a for a in actions if isinstance(a, CancelSuite)):
            process = self._processes.get((action.name, action.attempt))
            if process is not None and not process.exited():
                process.terminate()

    def cancel_suite(self, action: CancelSuite) -> None:
        key = (action.name, action.attempt)
        process = self._processes.get(key)
        if process is None or key in self._finals:
            return
        process.stop()
        observed = process.observe(state=action.outcome, reason=action.reason)
        with self._lock:
            self._finals[key] = observed

    def inject_fault(self, action: InjectFault) -> None:
        self.faults.inject(action.name)

    def heal_fault(self, action: HealFault) -> None:
        self.faults.heal(action.name)

    def _fault_cluster(self) -> LocalCluster:
        if self._connection is None:
            raise RuntimeError("the cluster is not ready")
        return find_cluster(self._connection.contact_points)

    def teardown_cluster(self) -> None:
        if self._torn_down:
            return
        self.handle.teardown()
        if self._provisioner is not None:
            self._provisioner.join(timeout=60)
        self._torn_down = True

    def _stop_all(self, reason: str) -> None:
        """Safety net: no suite process outlives the run, whatever happened."""
        for key, process in list(self._processes.items()):
            if not process.exited():
                process.stop(grace=1.0)
                with self._lock:
                    self._finals.setdefault(key, process.observe(state="Cancelled", reason=reason))

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        if (
            not self.options.handle_signals
            or threading.current_thread() is not threading.main_thread()
        ):
            yield
            return

        def handler(signum: int, frame: FrameType | None) -> None:
            if self._interrupted:
                # A second Ctrl-C while stopping: give up waiting; finally-blocks still clean up.
                raise KeyboardInterrupt
            self.interrupt()

        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)

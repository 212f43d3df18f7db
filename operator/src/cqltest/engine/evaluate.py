"""One reading of (spec, observed, now): every suite's phase and what should happen next.

``decide`` and ``aggregate_status`` both start here, so the actions a backend takes and the
status users read can never disagree. The rules, in the order they apply:

* a run stops early (``Stop``) when interrupted, when the cluster failed or missed its
  readyTimeout, or when the run timeout passed; running attempts are cancelled and suites that
  never started are Skipped with that reason;
* a suite whose dependency ended in anything but Passed is Skipped, naming the dependency that
  failed (and the chain, when the skip is transitive);
* with failFast, the first suite that fails for good stops new starts; running suites finish;
* a failed or timed-out attempt (a breached threshold counts as failed) is retried while
  ``retries`` allow and the run is not stopping;
* a suite may start once all its dependencies Passed, lowest wave first, up to ``parallelism``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from cqltest import plan
from cqltest.engine import thresholds as threshold_checks
from cqltest.engine.actions import (
    CancelOutcome,
    CancelSuite,
    FinishPhase,
    HealFault,
    InjectFault,
    StartSuite,
)
from cqltest.engine.faults import FaultView, fault_failure, fault_views, held_suites
from cqltest.engine.observed import AttemptObserved, Observed
from cqltest.model import SuitePhase, SuiteResult, SuiteSpec, TestRunSpec, ThresholdResult
from cqltest.model import format_duration as fmt

_FAILED_ATTEMPT_PHASE: dict[str, SuitePhase] = {
    "Failed": "Failed",
    "TimedOut": "TimedOut",
    "Error": "Error",
    "Cancelled": "Error",
}


@dataclass(frozen=True)
class Stop:
    """Why the whole run stops early, and how its running attempts are cancelled."""

    phase: FinishPhase
    reason: str
    message: str
    cancel_outcome: CancelOutcome


@dataclass(frozen=True)
class SuiteView:
    """Where one suite stands in this observation."""

    spec: SuiteSpec
    wave: int
    phase: SuitePhase
    attempts: tuple[AttemptObserved, ...]
    reason: str | None = None
    result: SuiteResult | None = None
    """The result of the latest attempt that produced one."""
    thresholds: tuple[ThresholdResult, ...] = ()
    startable: bool = False
    """All dependencies passed and an attempt may start (a first one, or a retry)."""
    blocked_by: tuple[str, SuitePhase, tuple[str, ...]] | None = None
    """Skipped because of this failed suite, its phase, and the dependency chain to it."""

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def final(self) -> bool:
        return self.phase in ("Passed", "Failed", "TimedOut", "Skipped", "Error")

    @property
    def running(self) -> AttemptObserved | None:
        return next((a for a in self.attempts if a.state == "Running"), None)

    @property
    def next_attempt(self) -> int:
        return max((a.attempt for a in self.attempts), default=0) + 1


@dataclass(frozen=True)
class Outcome:
    """How the run ended."""

    phase: FinishPhase
    reason: str
    message: str


@dataclass(frozen=True)
class Evaluation:
    """The engine's complete reading of one observation."""

    waves: list[list[str]]
    suites: dict[str, SuiteView]
    stop: Stop | None
    cancels: list[CancelSuite] = field(default_factory=list)
    starts: list[StartSuite] = field(default_factory=list)
    outcome: Outcome | None = None
    faults: dict[str, FaultView] = field(default_factory=dict)
    deadline: datetime | None = None
    """When the clock alone stops the run (see ``_deadline``)."""

    @property
    def due(self) -> datetime | None:
        """The next moment the clock alone changes what is due (a fault's injection, heal or
        overdue recovery, a running suite's timeout, the run's readyTimeout or timeout), so a
        backend that sleeps between turns wakes in time."""
        moments = [f.due for f in self.faults.values() if f.due is not None]
        if self.deadline is not None and self.stop is None:
            moments.append(self.deadline)
        moments += [
            v.running.started_at + v.spec.timeout
            for v in self.suites.values()
            if v.running is not None and v.running.started_at is not None
        ]
        return min(moments, default=None)

    @property
    def injects(self) -> list[InjectFault]:
        return [InjectFault(f.name) for f in self.faults.values() if f.inject]

    @property
    def heals(self) -> list[HealFault]:
        return [HealFault(f.name) for f in self.faults.values() if f.heal]


def _deadline(spec: TestRunSpec, observed: Observed) -> datetime | None:
    """When the clock alone stops the run: readyTimeout while the cluster is being
    provisioned, the run's timeout (counted from readiness) once it is there."""
    cluster = observed.cluster
    if cluster.state == "Provisioning":
        return (cluster.started_at or observed.started_at) + spec.cluster.ready_timeout
    if cluster.state in ("Absent", "Failed") or spec.timeout is None:
        return None
    return (cluster.ready_at or cluster.started_at or observed.started_at) + spec.timeout


def _stop(
    spec: TestRunSpec, observed: Observed, now: datetime, deadline: datetime | None
) -> Stop | None:
    cluster = observed.cluster
    if observed.interrupted:
        return Stop("Failed", "Interrupted", "the run was interrupted", "Cancelled")
    if cluster.state == "Failed":
        detail = f": {cluster.message}" if cluster.message else ""
        return Stop("Error", "ClusterFailed", f"the cluster failed{detail}", "Cancelled")
    if cluster.state in ("Absent", "Provisioning"):
        if deadline is not None and now > deadline:
            return Stop(
                "Error",
                "ClusterReadyTimeout",
                f"the cluster was not ready within readyTimeout {fmt(spec.cluster.ready_timeout)}",
                "Cancelled",
            )
        return None
    failed = fault_failure(spec, observed, now)
    if failed is not None:
        name, why = failed
        return Stop("Failed", "FaultFailed", f"fault {name} failed: {why}", "Cancelled")
    if spec.timeout is not None and deadline is not None and now > deadline:
        return Stop(
            "Failed",
            "RunTimeout",
            f"the run exceeded its timeout {fmt(spec.timeout)}",
            "TimedOut",
        )
    return None


def _attempt_verdict(
    suite: SuiteSpec, attempt: AttemptObserved
) -> tuple[SuitePhase, str | None, tuple[ThresholdResult, ...]]:
    """The phase one finished attempt earns, after thresholds, with the reason."""
    checked = tuple(threshold_checks.evaluate(suite.thresholds, attempt.result))
    if attempt.state == "Succeeded":
        breach = threshold_checks.describe_breaches(list(checked))
        return ("Failed", breach, checked) if breach else ("Passed", None, checked)
    reason = attempt.reason
    if reason is None and attempt.result is not None:
        reason = _failed_tests(attempt.result)
    if reason is None:
        reason = {"TimedOut": f"exceeded its timeout {fmt(suite.timeout)}"}.get(
            attempt.state, attempt.state.lower()
        )
    return _FAILED_ATTEMPT_PHASE[attempt.state], reason, checked


def _failed_tests(result: SuiteResult) -> str:
    """``2 of 9 tests failed: test_a.py::test_x, test_b.py::test_y`` (at most two named)."""
    bad = result.tests.failed + result.tests.errors
    if not bad:
        return result.outcome
    names = [f.test for f in result.failures[:2]]
    more = len(result.failures) - len(names)
    listed = ", ".join(names) + (f" and {more} more" if more > 0 else "")
    return f"{bad} of {result.tests.total} tests failed" + (f": {listed}" if listed else "")


def _is_exhausted_failure(suite: SuiteSpec, attempts: tuple[AttemptObserved, ...]) -> bool:
    """The suite failed for good on its attempts alone (no retry left, or not retryable)."""
    if not attempts or attempts[-1].state == "Running":
        return False
    phase, _, _ = _attempt_verdict(suite, attempts[-1])
    if phase == "Passed":
        return False
    return attempts[-1].state == "Cancelled" or len(attempts) > suite.retries


def evaluate(spec: TestRunSpec, observed: Observed, now: datetime) -> Evaluation:
    """Read one observation; raises ManifestError if the spec's graph is invalid."""
    waves = plan.plan_waves(spec)
    wave_of = {name: index + 1 for index, wave in enumerate(waves) for name in wave}
    deadline = _deadline(spec, observed)
    stop = _stop(spec, observed, now, deadline)
    by_name = {s.name: s for s in spec.suites}
    fail_fast_by: str | None = None
    if spec.fail_fast:
        fail_fast_by = next(
            (s.name for s in spec.suites if _is_exhausted_failure(s, observed.attempts_of(s.name))),
            None,
        )
    views: dict[str, SuiteView] = {}
    cancels: list[CancelSuite] = []
    for name in (n for wave in waves for n in wave):
        suite = by_name[name]
        view, cancel = _suite_view(suite, wave_of[name], observed, now, stop, fail_fast_by, views)
        views[name] = view
        if cancel is not None:
            cancels.append(cancel)
    ordered = {s.name: views[s.name] for s in spec.suites}
    cluster_ready = observed.cluster.state == "Ready"
    starts: list[StartSuite] = []
    if stop is None and cluster_ready:
        running = sum(1 for v in ordered.values() if v.running is not None)
        slots = max(0, spec.parallelism - running)
        held = held_suites(spec, observed)
        candidates = sorted(
            (v for v in ordered.values() if v.startable and v.name not in held),
            key=lambda v: (v.wave, list(ordered).index(v.name)),
        )
        starts = [StartSuite(v.name, v.next_attempt) for v in candidates[:slots]]
    faults = fault_views(spec, observed, now, ordered, stop, cluster_ready)
    outcome = _with_faults(_outcome(list(ordered.values()), stop), faults, stop)
    return Evaluation(waves, ordered, stop, cancels, starts, outcome, faults, deadline)


def _with_faults(
    outcome: Outcome | None, faults: dict[str, FaultView], stop: Stop | None
) -> Outcome | None:
    """The run is over once its suites are and its faults recovered; a failed fault fails it."""
    if outcome is None or (stop is None and any(f.active for f in faults.values())):
        return None
    failed = [f for f in faults.values() if f.phase == "Failed"]
    if outcome.phase == "Succeeded" and failed:
        listed = "; ".join(f"fault {f.name} failed: {f.reason}" for f in failed)
        return Outcome("Failed", "FaultFailed", listed)
    return outcome


def _suite_view(
    suite: SuiteSpec,
    wave: int,
    observed: Observed,
    now: datetime,
    stop: Stop | None,
    fail_fast_by: str | None,
    earlier: dict[str, SuiteView],
) -> tuple[SuiteView, CancelSuite | None]:
    attempts = observed.attempts_of(suite.name)
    with_result = [a for a in attempts if a.result is not None]
    result = with_result[-1].result if with_result else None
    base = SuiteView(suite, wave, "Pending", attempts, result=result)
    running = base.running
    if running is not None:
        cancel = None
        started = running.started_at
        if started is not None and now - started > suite.timeout:
            cancel = CancelSuite(
                suite.name,
                running.attempt,
                f"attempt {running.attempt} exceeded its timeout {fmt(suite.timeout)}",
                "TimedOut",
            )
        elif stop is not None:
            cancel = CancelSuite(suite.name, running.attempt, stop.message, stop.cancel_outcome)
        reason = f"attempt {running.attempt} of {suite.retries + 1}" if suite.retries else None
        return replace(base, phase="Running", reason=reason), cancel
    if attempts:
        last = attempts[-1]
        phase, reason, checked = _attempt_verdict(suite, last)
        if phase == "Passed":
            return replace(base, phase="Passed", thresholds=checked), None
        retry_left = last.state != "Cancelled" and len(attempts) <= suite.retries
        blocked = stop is not None or fail_fast_by is not None
        if retry_left and not blocked:
            note = (
                f"attempt {last.attempt} {phase}: {reason}; "
                f"retrying (attempt {last.attempt + 1} of {suite.retries + 1})"
            )
            return replace(base, reason=note, thresholds=checked, startable=True), None
        return replace(base, phase=phase, reason=reason, thresholds=checked), None
    skip = _skip_reason(suite, earlier, stop, fail_fast_by)
    if skip is not None:
        root = _blocked_by(suite, earlier)
        return replace(base, phase="Skipped", reason=skip, blocked_by=root), None
    waiting = [d for d in suite.depends_on if earlier[d].phase != "Passed"]
    if waiting:
        return replace(base, reason=f"waiting for {', '.join(waiting)}"), None
    return replace(base, startable=True), None


def _skip_reason(
    suite: SuiteSpec,
    earlier: dict[str, SuiteView],
    stop: Stop | None,
    fail_fast_by: str | None,
) -> str | None:
    blocked = _blocked_by(suite, earlier)
    if blocked is not None:
        return _dependency_reason(*blocked)
    if stop is not None:
        return f"not started: {stop.message}"
    if fail_fast_by is not None:
        return f"not started: failFast after {fail_fast_by} failed"
    return None


def _dependency_reason(root: str, phase: str, via: tuple[str, ...]) -> str:
    chain = f" (via {' -> '.join(via)})" if via else ""
    return f"dependency {root} {phase}{chain}"


def _blocked_by(
    suite: SuiteSpec, earlier: dict[str, SuiteView]
) -> tuple[str, SuitePhase, tuple[str, ...]] | None:
    """The failed suite (and the chain to it) that makes this one Skipped, if any."""
    for dep in suite.depends_on:
        view = earlier[dep]
        if view.phase == "Skipped" and view.blocked_by is not None:
            root, phase, via = view.blocked_by
            return root, phase, (dep, *via)
        if view.phase in ("Failed", "TimedOut", "Error"):
            return dep, view.phase, ()
    return None


def _outcome(views: list[SuiteView], stop: Stop | None) -> Outcome | None:
    unfinished = any(not v.final for v in views)
    if unfinished and (stop is None or any(v.running is not None for v in views)):
        return None
    bad = [v for v in views if v.phase != "Passed"]
    if not bad:  # even if a stop came in after the last suite passed: the work is done
        passed = "the suite passed" if len(views) == 1 else f"all {len(views)} suites passed"
        return Outcome("Succeeded", "AllSuitesPassed", passed)
    if stop is not None:
        return Outcome(stop.phase, stop.reason, stop.message)
    failed = [v for v in bad if v.phase != "Skipped"]
    skipped = len(bad) - len(failed)
    listed = ", ".join(f"{v.name} ({v.phase})" for v in failed)
    message = f"{len(failed)} of {len(views)} suites did not pass: {listed}"
    if skipped:
        message += f"; {skipped} skipped"
    return Outcome("Failed", "SuitesFailed", message)

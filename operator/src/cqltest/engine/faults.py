"""Where each fault stands, and whether to inject or heal it now: decided from time and suites.

A fault's timeline is a function of the observation alone, like a suite's, so re-deciding is
harmless and a restarted operator carries on: a fault is injected once its trigger passed and
the observation shows no injection yet, healed once its time is up (or the run stops) and the
observation shows no heal yet. The rules:

* ``beforeSuite: S``: inject when S may start and has never started; S is held back until the
  observation shows the fault injected;
* ``duringSuite: S`` + ``afterSeconds: N``: inject N seconds after S's running attempt started;
* NodeKill, NodeStop, NodePause heal ``downFor`` after the injection, a Partition ``duration``
  after it; a RollingRestart heals itself (the backend restarts node after node);
* after the heal, every target node must recover within ``expectRecoveryWithin`` (for a
  RollingRestart that much per node, counted from the injection);
* a fault fails when the backend reports an error, its nodes miss the recovery deadline, or its
  suite ended before the trigger; a failed fault fails the run (the first two stop it at once).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from cqltest.engine.observed import FaultObserved, Observed
from cqltest.model import FaultPhase, FaultSpec, FaultStatus, TestRunSpec
from cqltest.model import format_duration as fmt

if TYPE_CHECKING:
    from cqltest.engine.evaluate import Stop, SuiteView


@dataclass(frozen=True)
class FaultView:
    """Where one fault stands in this observation, and what is due for it now."""

    spec: FaultSpec
    phase: FaultPhase
    observed: FaultObserved
    reason: str | None = None
    inject: bool = False
    heal: bool = False
    due: datetime | None = None
    """When the clock alone makes its next step due (injection, heal, or failure for a recovery
    past expectRecoveryWithin): a backend that sleeps between turns must wake by then."""

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def active(self) -> bool:
        """Injected and not yet recovered (nor failed): the run is not over until it is."""
        return self.phase in ("Injected", "Healed") or self.inject


def hold(fault: FaultSpec) -> timedelta:
    """How long a timed fault stays in before it is healed."""
    return fault.duration if fault.action == "Partition" else fault.down_for


def fault_failure(spec: TestRunSpec, observed: Observed, now: datetime) -> tuple[str, str] | None:
    """The first fault that failed on its own (error, missed recovery), with why; else None."""
    for fault in spec.faults:
        seen = observed.faults.get(fault.name)
        why = _failed(fault, seen, now) if seen is not None else None
        if why is not None:
            return fault.name, why
    return None


def _failed(fault: FaultSpec, seen: FaultObserved, now: datetime) -> str | None:
    if seen.error is not None:
        return seen.error
    if seen.recovered_at is not None:
        return None
    limit = fault.expect_recovery_within
    if fault.action == "RollingRestart" and seen.injected_at is not None:
        total = limit * max(1, len(seen.targets))
        if now - seen.injected_at > total:
            return (
                f"the rolling restart of {len(seen.targets)} node(s) did not finish within "
                f"{fmt(total)} (expectRecoveryWithin {fmt(limit)} per node)"
            )
    if seen.healed_at is not None and now - seen.healed_at > limit:
        return (
            f"its nodes did not recover within expectRecoveryWithin {fmt(limit)} after the heal "
            f"({', '.join(seen.targets) or 'no target'})"
        )
    return None


def held_suites(spec: TestRunSpec, observed: Observed) -> frozenset[str]:
    """Suites that must not start yet: a ``beforeSuite`` fault of theirs is not injected."""
    return frozenset(
        f.when.before_suite
        for f in spec.faults
        if f.when.before_suite is not None
        and (observed.faults.get(f.name) or FaultObserved()).injected_at is None
    )


def fault_views(
    spec: TestRunSpec,
    observed: Observed,
    now: datetime,
    suites: Mapping[str, SuiteView],
    stop: Stop | None,
    cluster_ready: bool = True,
) -> dict[str, FaultView]:
    """Every fault's view, in manifest order; nothing is injected before the cluster is ready.

    A cluster that is not ready holds back only what is still to come: a fault already
    injected keeps its phase and its heal, and one that can no longer happen (the run is
    stopping, its suite is over) says why.
    """
    views = {f.name: _view(f, observed, now, suites, stop) for f in spec.faults}
    if cluster_ready or stop is not None:
        return views
    waiting = "waiting for the cluster"
    return {
        name: FaultView(v.spec, "Pending", v.observed, waiting)
        if v.phase == "Pending" and v.observed.injected_at is None
        else v
        for name, v in views.items()
    }


def _view(
    fault: FaultSpec,
    observed: Observed,
    now: datetime,
    suites: Mapping[str, SuiteView],
    stop: Stop | None,
) -> FaultView:
    seen = observed.faults.get(fault.name) or FaultObserved()
    base = FaultView(fault, "Pending", seen)
    failed = _failed(fault, seen, now)
    if failed is not None:
        return FaultView(fault, "Failed", seen, failed)
    if seen.recovered_at is not None:
        return FaultView(fault, "Recovered", seen)
    limit = fault.expect_recovery_within  # past it, _failed fails the fault: it falls due then
    if seen.healed_at is not None:
        why = "waiting for its nodes to recover"
        return FaultView(fault, "Healed", seen, why, due=seen.healed_at + limit)
    if seen.injected_at is not None:
        if fault.action == "RollingRestart":
            due = seen.injected_at + limit * max(1, len(seen.targets))
            return FaultView(fault, "Injected", seen, "restarting node after node", due=due)
        due = seen.injected_at + hold(fault)
        heal = stop is not None or now >= due
        reason = f"heals after {fmt(hold(fault))}"
        return FaultView(fault, "Injected", seen, reason, heal=heal, due=due)
    if stop is not None:
        return FaultView(fault, "Pending", seen, f"not injected: {stop.message}")
    return _trigger(base, suites, now)


def _trigger(base: FaultView, suites: Mapping[str, SuiteView], now: datetime) -> FaultView:
    """A fault not injected yet: due now, still waiting, or never to happen."""
    when = base.spec.when
    if when.before_suite is not None:
        suite = suites[when.before_suite]
        if suite.startable and not suite.attempts:
            return FaultView(base.spec, "Pending", base.observed, inject=True)
        if suite.final or suite.attempts:
            return FaultView(
                base.spec,
                "Failed",
                base.observed,
                f"never injected: suite {suite.name} {suite.phase} before it could start",
            )
        return FaultView(base.spec, "Pending", base.observed, f"before suite {suite.name}")
    assert when.during_suite is not None
    suite = suites[when.during_suite]
    after = timedelta(seconds=when.after_seconds)
    running = suite.running
    due = None
    if running is not None and running.started_at is not None:
        due = running.started_at + after
        if now >= due:
            return FaultView(base.spec, "Pending", base.observed, inject=True)
    elif suite.final:
        return FaultView(
            base.spec,
            "Failed",
            base.observed,
            f"never injected: suite {suite.name} ended ({suite.phase}) before "
            f"afterSeconds {when.after_seconds:g}",
        )
    return FaultView(
        base.spec,
        "Pending",
        base.observed,
        f"{when.after_seconds:g}s into suite {suite.name}",
        due=due,
    )


def fault_status(view: FaultView) -> FaultStatus:
    """The status entry of one fault."""
    seen = view.observed
    return FaultStatus(
        name=view.name,
        action=view.spec.action,
        phase=view.phase,
        targets=list(seen.targets),
        injected_at=seen.injected_at,
        healed_at=seen.healed_at,
        recovered_at=seen.recovered_at,
        reason=view.reason,
        error=seen.error,
    )


def observed_faults(recorded: list[FaultStatus]) -> dict[str, FaultObserved]:
    """The faults as a status recorded them (operator mode rebuilds its observation from it)."""
    return {
        f.name: FaultObserved(
            targets=tuple(f.targets),
            injected_at=f.injected_at,
            healed_at=f.healed_at,
            recovered_at=f.recovered_at,
            error=f.error,
        )
        for f in recorded
        if f.injected_at is not None or f.error is not None
    }

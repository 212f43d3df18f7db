"""A scripted fake backend for the engine's unit and property tests.

It runs the engine's own loop turn (``engine.step``: observe, decide, apply, publish) in
simulated time: every attempt follows a script (how long it runs, how it ends), so tests can
drive any sequence of events through the real ``decide`` and check what the engine asked for at
each step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from cqltest import engine
from cqltest.engine import (
    Action,
    AttemptObserved,
    AttemptState,
    CancelSuite,
    ClusterObserved,
    Finish,
    Observed,
    StartSuite,
)
from cqltest.model import SuiteResult, TestRunSpec, TestRunStatus

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
TICK = timedelta(minutes=1)


def make_spec(suites: list[dict[str, Any]], **fields: Any) -> TestRunSpec:
    """A valid spec with a one-node cluster; ``suites`` entries default to ``suite: smoke``."""
    data: dict[str, Any] = {
        "cluster": {"datacenters": [{"name": "dc1", "size": 1}]},
        "suites": [{"suite": "smoke", **s} for s in suites],
    }
    cluster = fields.pop("cluster", None)
    if cluster is not None:
        data["cluster"] = cluster
    data.update(fields)
    return TestRunSpec.model_validate(data)


def result(suite: str, attempt: int = 1, outcome: str = "passed", **extra: Any) -> SuiteResult:
    """A SuiteResult as the cqlsuites plugin would write it."""
    tests = extra.pop("tests", {"total": 2, "passed": 2 if outcome == "passed" else 1})
    if outcome == "failed" and "failed" not in tests:
        tests = {**tests, "failed": 1}
    return SuiteResult.model_validate(
        {"suite": suite, "attempt": attempt, "outcome": outcome, "tests": tests, **extra}
    )


def observed(
    *,
    cluster: str = "Ready",
    attempts: Mapping[str, list[AttemptObserved]] | None = None,
    started_at: datetime = T0,
    **extra: Any,
) -> Observed:
    """An observation with a cluster in ``cluster`` state, ready since T0."""
    ready_at = T0 if cluster == "Ready" else None
    return Observed(
        cluster=ClusterObserved(state=cluster, started_at=T0, ready_at=ready_at),  # type: ignore[arg-type]
        started_at=started_at,
        attempts=attempts or {},
        **extra,
    )


def running(attempt: int = 1, at: datetime = T0) -> AttemptObserved:
    return AttemptObserved(attempt, "Running", started_at=at)


def done(
    state: str = "Succeeded",
    attempt: int = 1,
    *,
    res: SuiteResult | None = None,
    reason: str | None = None,
    start: datetime = T0,
    end: datetime | None = None,
) -> AttemptObserved:
    return AttemptObserved(
        attempt,
        state,  # type: ignore[arg-type]
        started_at=start,
        finished_at=end or start + TICK,
        result=res,
        reason=reason,
    )


@dataclass
class Script:
    """How one attempt goes: it runs ``ticks`` ticks, then ends in ``state`` (or hangs)."""

    state: str = "Succeeded"  # Succeeded | Failed | Error | Hang
    ticks: int = 1
    result: SuiteResult | None = None


@dataclass
class Simulation:
    """Runs the engine against scripted attempts until it Finishes (or the step limit)."""

    spec: TestRunSpec
    scripts: Mapping[str, list[Script]] = field(default_factory=dict)
    provision_ticks: int = 1
    cluster_fails: bool = False
    existing: bool = False
    on_decide: Callable[[Observed, datetime, list[Action]], None] | None = None
    publish: bool = True
    """Aggregate the status at every step, as a real backend does (``status``)."""
    now: datetime = T0
    cluster: ClusterObserved = field(default_factory=ClusterObserved)
    attempts: dict[str, list[AttemptObserved]] = field(default_factory=dict)
    torn_down: bool = False
    interrupted: bool = False
    finish: Finish | None = None
    status: TestRunStatus | None = None
    history: list[list[Action]] = field(default_factory=list)
    _ends: dict[tuple[str, int], datetime] = field(default_factory=dict)
    _provision_done: datetime | None = None

    def observe(self) -> Observed:
        return Observed(
            cluster=self.cluster,
            started_at=T0,
            attempts={k: list(v) for k, v in self.attempts.items()},
            interrupted=self.interrupted,
            torn_down=self.torn_down,
        )

    def step(self) -> list[Action]:
        """One loop turn (the engine's ``step``); then let simulated time pass."""
        self._advance_world()
        turn = engine.step(
            self.spec,
            self,
            lambda: self.now,
            previous=self.status,
            on_decide=self.on_decide,
            publish=self.publish,
        )
        self.status = turn.status
        self.history.append(list(turn.actions))
        self.finish = turn.finish or self.finish
        self.now += TICK
        return list(turn.actions)

    def run(self, max_steps: int = 500) -> Finish:
        while self.finish is None:
            if len(self.history) >= max_steps:
                raise AssertionError(f"no Finish after {max_steps} steps: {self.history[-3:]}")
            self.step()
        return self.finish

    # -- the engine's Backend, called by apply_actions ------------------------------------

    def provision_cluster(self) -> None:
        self.cluster = ClusterObserved("Provisioning", started_at=self.now, name="sim")
        self._provision_done = self.now + self.provision_ticks * TICK

    def start_suite(self, action: StartSuite) -> None:
        attempts = self.attempts.setdefault(action.name, [])
        if any(a.attempt == action.attempt for a in attempts):
            return  # idempotent: the attempt exists already
        attempts.append(AttemptObserved(action.attempt, "Running", started_at=self.now))
        script = self._script(action.name, action.attempt)
        if script.state != "Hang":
            self._ends[(action.name, action.attempt)] = self.now + script.ticks * TICK

    def cancel_suite(self, action: CancelSuite) -> None:
        self._end(action.name, action.attempt, action.outcome, None, action.reason)

    def teardown_cluster(self) -> None:
        self.torn_down = True

    def _script(self, suite: str, attempt: int) -> Script:
        scripts = self.scripts.get(suite, [])
        return scripts[min(attempt, len(scripts)) - 1] if scripts else Script()

    def _end(
        self,
        suite: str,
        attempt: int,
        state: AttemptState,
        res: SuiteResult | None,
        reason: str | None,
    ) -> None:
        attempts = self.attempts[suite]
        for i, a in enumerate(attempts):
            if a.attempt == attempt and a.state == "Running":
                attempts[i] = replace(
                    a, state=state, finished_at=self.now, result=res, reason=reason
                )
        self._ends.pop((suite, attempt), None)

    def _advance_world(self) -> None:
        if self._provision_done is not None and self.now >= self._provision_done:
            self._provision_done = None
            state = "Failed" if self.cluster_fails else "Ready"
            self.cluster = replace(
                self.cluster,
                state=state,  # type: ignore[arg-type]
                ready_at=None if self.cluster_fails else self.now,
                message="boom" if self.cluster_fails else None,
            )
        for (suite, attempt), end in list(self._ends.items()):
            if self.now >= end:
                script = self._script(suite, attempt)
                res = script.result
                if res is None and script.state != "Error":
                    outcome = "passed" if script.state == "Succeeded" else "failed"
                    res = result(suite, attempt, outcome)
                self._end(suite, attempt, cast(AttemptState, script.state), res, None)

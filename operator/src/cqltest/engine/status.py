"""``aggregate_status``: the TestRun status document for one observation.

Built from the same evaluation as ``decide``. Conditions keep their lastTransitionTime while
their status does not change (pass the previous status), so watchers see real transitions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from cqltest.engine.evaluate import Evaluation, SuiteView, evaluate
from cqltest.engine.faults import fault_status
from cqltest.engine.observed import Observed
from cqltest.errors import ManifestError
from cqltest.model import (
    AttemptStatus,
    ClusterStatus,
    Condition,
    Failure,
    RunPhase,
    SuiteCounts,
    SuiteStatus,
    Summary,
    TestCounts,
    TestRunSpec,
    TestRunStatus,
)
from cqltest.model import format_duration as fmt
from cqltest.model.status import ConditionStatus

MAX_CONDITION_MESSAGE = 32768  # metav1.Condition's limit
MAX_FAILURES = 20
MAX_FAILURE_MESSAGE = 2000
MAX_HISTORY_REASON = 1000
"""Per attempt: 64 suites of 11 attempts must still fit far below etcd's 1.5 MB object limit."""
_COUNT_FIELD = {
    "Pending": "pending",
    "Running": "running",
    "Passed": "passed",
    "Failed": "failed",
    "TimedOut": "timed_out",
    "Skipped": "skipped",
    "Error": "error",
}


def aggregate_status(
    spec: TestRunSpec,
    observed: Observed,
    now: datetime,
    *,
    generation: int | None = None,
    previous: TestRunStatus | None = None,
    evaluation: Evaluation | None = None,
) -> TestRunStatus:
    """The status of the run as of ``now`` (``evaluation``: the caller's reading of this very
    observation, when it has one already)."""
    if evaluation is None:
        evaluation = evaluate(spec, observed, now)
    phase = _phase(observed, evaluation)
    suites = [_suite_status(v, now) for v in evaluation.suites.values()]
    finished_at = None
    if evaluation.outcome is not None:
        finished_at = (previous.finished_at if previous else None) or now
    end = finished_at or now
    reason = evaluation.outcome.reason if evaluation.outcome else None
    return TestRunStatus(
        phase=phase,
        observed_generation=generation,
        conditions=_conditions(spec, observed, evaluation, now, generation, previous),
        cluster=_cluster_status(spec, observed),
        waves=evaluation.waves,
        suites=suites,
        faults=[fault_status(f) for f in evaluation.faults.values()],
        summary=_summary(suites),
        message=_message(phase, observed, evaluation),
        reason=reason,
        started_at=observed.started_at,
        finished_at=finished_at,
        duration=fmt(end - observed.started_at),
    )


def invalid_status(
    error: ManifestError,
    now: datetime,
    *,
    generation: int | None = None,
    previous: TestRunStatus | None = None,
) -> TestRunStatus:
    """The status of a TestRun whose manifest is invalid (both backends set it the same way)."""
    message = "; ".join(str(p) for p in error.problems)
    at = (now, generation)
    conditions = [
        _condition("ClusterReady", _State("False", "Invalid", "nothing was provisioned"), *at),
        _condition("Completed", _State("True", "Invalid", message), *at),
        _condition("Succeeded", _State("False", "Invalid", message), *at),
    ]
    return TestRunStatus(
        phase="Invalid",
        observed_generation=generation,
        conditions=_keep_transition_times(conditions, previous),
        message=message,
        reason="Invalid",
        finished_at=(previous.finished_at if previous else None) or now,
    )


def _phase(observed: Observed, evaluation: Evaluation) -> RunPhase:
    if evaluation.outcome is not None:
        return evaluation.outcome.phase
    cluster = observed.cluster
    if cluster.state == "Ready" or cluster.ready_at is not None:
        return "Running"  # also while suites are stopped after the cluster was lost
    if cluster.state == "Absent":
        return "Pending"
    return "Provisioning"


def _suite_status(view: SuiteView, now: datetime) -> SuiteStatus:
    attempts = view.attempts
    started = next((a.started_at for a in attempts if a.started_at is not None), None)
    finished = attempts[-1].finished_at if attempts and view.final else None
    seconds = 0.0
    for a in attempts:
        if a.started_at is not None:
            seconds += ((a.finished_at or now) - a.started_at).total_seconds()
    result = view.result
    history = [
        AttemptStatus(
            attempt=a.attempt,
            state=a.state,
            started_at=a.started_at,
            finished_at=a.finished_at,
            reason=_bounded(a.reason, MAX_HISTORY_REASON),
            outcome=a.result.outcome if a.result is not None and a.state != "Running" else None,
        )
        for a in attempts
    ]
    return SuiteStatus(
        name=view.name,
        phase=view.phase,
        wave=view.wave,
        attempts=len(attempts),
        started_at=started,
        finished_at=finished,
        duration_seconds=round(seconds, 3) if started is not None else None,
        reason=view.reason,
        tests=result.tests if result else None,
        failures=_bounded_failures(result.failures) if result else [],
        metrics=result.metrics if result else None,
        thresholds=list(view.thresholds),
        history=history,
    )


def _bounded(text: str | None, limit: int) -> str | None:
    return text if text is None or len(text) <= limit else text[: limit - 3] + "..."


def _bounded_failures(failures: Sequence[Failure]) -> list[Failure]:
    """The first failures, messages cut short: a status object must stay far below 1.5 MB."""
    return [
        f.model_copy(update={"message": _bounded(f.message, MAX_FAILURE_MESSAGE)})
        for f in failures[:MAX_FAILURES]
    ]


def _summary(suites: Sequence[SuiteStatus]) -> Summary:
    counts: dict[str, int] = dict.fromkeys(_COUNT_FIELD.values(), 0)
    tests = dict.fromkeys(("total", "passed", "failed", "skipped", "errors"), 0)
    for s in suites:
        counts[_COUNT_FIELD[s.phase]] += 1
        if s.tests is not None:
            for key in tests:
                tests[key] += getattr(s.tests, key)
    return Summary(
        progress=f"{counts['passed']}/{len(suites)}",
        suites=SuiteCounts(total=len(suites), **counts),
        tests=TestCounts(**tests),
    )


def _message(phase: RunPhase, observed: Observed, evaluation: Evaluation) -> str:
    if evaluation.outcome is not None:
        return evaluation.outcome.message
    if phase == "Pending":
        return "waiting to provision the cluster"
    if phase == "Provisioning":
        if observed.cluster.state != "Provisioning":
            return ""
        return observed.cluster.waiting or "provisioning the cluster"
    views = list(evaluation.suites.values())
    open_waves = [v.wave for v in views if not v.final]
    current = min(open_waves, default=len(evaluation.waves))
    running = sum(1 for v in views if v.phase == "Running")
    retrying = sum(1 for v in views if v.phase == "Pending" and v.attempts)
    parts = [f"{running} running"]
    if retrying:
        parts.append(f"{retrying} retrying")
    if evaluation.stop is not None:
        parts.append(f"stopping: {evaluation.stop.message}")
    return f"wave {current}/{len(evaluation.waves)}: {', '.join(parts)}"


def _cluster_status(spec: TestRunSpec, observed: Observed) -> ClusterStatus:
    cluster = observed.cluster
    provision = None
    if cluster.ready_at is not None and cluster.started_at is not None:
        provision = round((cluster.ready_at - cluster.started_at).total_seconds(), 3)
    return ClusterStatus(
        name=cluster.name,
        state="TornDown" if observed.torn_down else cluster.state,
        existing=spec.cluster.existing is not None,
        contact_points=list(cluster.contact_points),
        datacenters=dict(cluster.datacenters),
        provision_seconds=provision,
        message=cluster.message,
        started_at=cluster.started_at,
        ready_at=cluster.ready_at,
    )


class _State(NamedTuple):
    status: ConditionStatus
    reason: str
    message: str


def _conditions(
    spec: TestRunSpec,
    observed: Observed,
    evaluation: Evaluation,
    now: datetime,
    generation: int | None,
    previous: TestRunStatus | None,
) -> list[Condition]:
    cluster = observed.cluster
    if observed.torn_down:
        ready = _State("False", "TornDown", "the cluster was torn down")
    elif cluster.state == "Ready":
        attached = spec.cluster.existing is not None
        ready = _State("True", "Attached" if attached else "Provisioned", "the cluster is ready")
    elif cluster.state == "Failed":
        ready = _State("False", "ProvisioningFailed", cluster.message or "the cluster failed")
    elif cluster.state == "Provisioning":
        ready = _State("False", "Provisioning", "the cluster is being provisioned")
    else:
        ready = _State("False", "NotProvisioned", "the cluster has not been provisioned yet")
    outcome = evaluation.outcome
    if outcome is None:
        completed = _State("False", "InProgress", "the run is in progress")
        succeeded = _State("Unknown", "InProgress", "the run is in progress")
    else:
        completed = _State("True", outcome.phase, outcome.message)
        success = outcome.phase == "Succeeded"
        succeeded = _State("True" if success else "False", outcome.reason, outcome.message)
    conditions = [
        _condition("ClusterReady", ready, now, generation),
        _condition("Completed", completed, now, generation),
        _condition("Succeeded", succeeded, now, generation),
    ]
    return _keep_transition_times(conditions, previous)


def _condition(kind: str, state: _State, now: datetime, generation: int | None) -> Condition:
    return Condition(
        type=kind,
        status=state.status,
        reason=state.reason,
        message=state.message[:MAX_CONDITION_MESSAGE],
        last_transition_time=now,
        observed_generation=generation,
    )


def _keep_transition_times(
    conditions: list[Condition], previous: TestRunStatus | None
) -> list[Condition]:
    if previous is None:
        return conditions
    before = {c.type: c for c in previous.conditions}
    kept = []
    for c in conditions:
        old = before.get(c.type)
        if old is not None and old.status == c.status:
            c = c.model_copy(update={"last_transition_time": old.last_transition_time})
        kept.append(c)
    return kept

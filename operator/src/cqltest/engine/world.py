"""Rebuild the engine's observation of an operator-mode run from what Kubernetes holds.

The operator keeps no memory of its own: after a restart (or at any reconcile) it reads the
TestRun's status and the run's child Jobs and pods, and this module turns them back into the
:class:`Observed` that ``decide`` needs. Pure: the objects come in as the plain dicts the API
returns, and the clock as ``now``.

Where each fact comes from:

* the cluster: ``status.cluster`` (state, startedAt, readyAt, contact points); the caller
  replaces it with what it sees live (K8ssandraCluster readiness) while provisioning;
* an attempt that the status records as finished stays as recorded: it is the engine's own
  verdict, and the only trace of a cancel (TimedOut, Cancelled) once its Job is deleted;
* any other attempt is read from its Job (labels ``cqltest.dev/testrun|suite|attempt``) and its
  pod's terminated container: the termination message holds the compact SuiteResult summary,
  or (``FallbackToLogsOnError``) the log tail when the suite wrote none;
* an attempt the status records as Running whose Job is gone was deleted under the run.

For the last rule to be true the caller must pass a fresh list of Jobs (not a watch cache that
may lag behind a Job it just created), and should cancel in this order: annotate the Job with
``cqltest.dev/cancelled`` and ``cqltest.dev/cancel-reason`` (what the CancelSuite says), publish
the status that records the outcome, then delete the Job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from cqltest.engine.faults import observed_faults
from cqltest.engine.names import (
    ANNOTATION_CANCEL_REASON,
    ANNOTATION_CANCELLED,
    LABEL_ATTEMPT,
    LABEL_SUITE,
    LABEL_TESTRUN,
    label_value,
)
from cqltest.engine.observed import (
    AttemptObserved,
    AttemptState,
    ClusterObserved,
    ClusterState,
    Observed,
)
from cqltest.engine.verdict import exit_verdict
from cqltest.model import (
    AttemptStatus,
    ClusterStatus,
    Metrics,
    SuiteResult,
    SuiteSpec,
    SuiteStatus,
    TestCounts,
    TestRunSpec,
    TestRunStatus,
)
from cqltest.model import format_duration as fmt

Object = Mapping[str, Any]
SUITE_CONTAINER = "suite"
"""The container of a test Job's pod that runs the suite (render.job names it so)."""
TAIL_LINES = 15
JOB_DELETED = "the test Job was deleted before it finished"
POD_DELETED = "the test pod was deleted before it finished"
POD_GONE = "the test pod was deleted before its result was read"
_CANCELLED: dict[str, AttemptState] = {"TimedOut": "TimedOut", "Cancelled": "Cancelled"}
# A pod in one of these waiting states never starts without someone changing the Job.
_STUCK = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
    }
)


def observed_from_world(
    spec: TestRunSpec,
    *,
    run: str,
    status: TestRunStatus | Object | None,
    jobs: Iterable[Object],
    pods: Iterable[Object] = (),
    created_at: datetime,
    now: datetime,
    deleting: bool = False,
) -> Observed:
    """The observation of run ``run`` from its status and its child Jobs and their pods.

    ``created_at`` (the TestRun's creationTimestamp) starts the run when no status says when it
    started; ``deleting`` (a deletionTimestamp on the TestRun) interrupts it.
    """
    current = _status(status)
    cluster, torn_down = cluster_from_status(current)
    label = label_value(run)
    ours = [j for j in jobs if _labels(j).get(LABEL_TESTRUN) == label]
    our_pods = [p for p in pods if _labels(p).get(LABEL_TESTRUN) == label]
    by_suite = {s.name: s for s in (current.suites if current else [])}
    attempts = {
        suite.name: attempts_of_suite(
            suite,
            by_suite.get(suite.name),
            [j for j in ours if _labels(j).get(LABEL_SUITE) == suite.name],
            [p for p in our_pods if _labels(p).get(LABEL_SUITE) == suite.name],
            now,
        )
        for suite in spec.suites
    }
    return Observed(
        cluster=cluster,
        started_at=(current.started_at if current else None) or created_at,
        attempts={name: found for name, found in attempts.items() if found},
        interrupted=deleting,
        torn_down=torn_down,
        faults=observed_faults(current.faults) if current else {},
    )


def cluster_from_status(status: TestRunStatus | None) -> tuple[ClusterObserved, bool]:
    """The cluster as the status last recorded it, and whether it was torn down.

    A torn-down cluster is rebuilt in the state it ended in, so the engine reaches the same
    outcome again: Ready if it ever was, Provisioning if the readyTimeout passed, else Failed.
    """
    recorded = status.cluster if status is not None else None
    if recorded is None:
        return ClusterObserved(), False
    torn_down = recorded.state == "TornDown"
    state = _cluster_state(recorded, status.reason if status is not None else None)
    cluster = ClusterObserved(
        state=state,
        message=recorded.message,
        contact_points=tuple(recorded.contact_points),
        started_at=recorded.started_at,
        ready_at=recorded.ready_at,
        name=recorded.name,
        datacenters=dict(recorded.datacenters),
    )
    return cluster, torn_down


def _cluster_state(recorded: ClusterStatus, reason: str | None) -> ClusterState:
    states: dict[str, ClusterState] = {
        "Absent": "Absent",
        "Provisioning": "Provisioning",
        "Ready": "Ready",
        "Failed": "Failed",
    }
    if recorded.state in states:
        return states[recorded.state]
    if recorded.ready_at is not None:
        return "Ready"
    return "Provisioning" if reason == "ClusterReadyTimeout" else "Failed"


def attempts_of_suite(
    suite: SuiteSpec,
    recorded: SuiteStatus | None,
    jobs: Iterable[Object],
    pods: Iterable[Object],
    now: datetime,
) -> list[AttemptObserved]:
    """Every attempt of one suite, from its status record, its Jobs and their pods."""
    history = {h.attempt: h for h in (recorded.history if recorded else [])}
    by_attempt = {n: j for j in jobs if (n := _attempt_number(j)) is not None}
    pods_by_attempt: dict[int, Object] = {}
    for candidate in sorted(pods, key=lambda p: str(_meta(p).get("creationTimestamp", ""))):
        n = _attempt_number(candidate)
        if n is not None:
            pods_by_attempt[n] = candidate  # the newest pod of an attempt wins
    latest_result = max((h.attempt for h in history.values() if h.outcome), default=None)
    found = []
    for n in sorted(set(history) | set(by_attempt)):
        record, job, pod = history.get(n), by_attempt.get(n), pods_by_attempt.get(n)
        if record is not None and record.state != "Running":
            result = _pod_result(pod, suite.name, n) or _recorded_result(
                suite.name, record, recorded if n == latest_result else None
            )
            found.append(_from_record(record, result))
        elif job is not None:
            found.append(attempt_from_job(suite, n, job, pod, now))
        elif record is not None:
            found.append(AttemptObserved(n, "Error", record.started_at, now, reason=JOB_DELETED))
    return found


def attempt_from_job(
    suite: SuiteSpec, attempt: int, job: Object, pod: Object | None, now: datetime
) -> AttemptObserved:
    """One attempt as its Job and pod show it (see the module docstring for the rules)."""
    job_status = job.get("status") or {}
    started = _time(job_status.get("startTime")) or _time(_meta(job).get("creationTimestamp"))
    result = _pod_result(pod, suite.name, attempt)
    annotations = _meta(job).get("annotations") or {}
    cancelled = _CANCELLED.get(annotations.get(ANNOTATION_CANCELLED, ""))
    if cancelled is not None:
        reason = annotations.get(ANNOTATION_CANCEL_REASON)
        return AttemptObserved(
            attempt, cancelled, started, _finished(job, pod) or now, result, reason
        )
    complete = _condition(job, "Complete", "SuccessCriteriaMet")
    failed = _condition(job, "Failed", "FailureTarget")
    if complete is None and failed is None:
        if _meta(job).get("deletionTimestamp"):
            return AttemptObserved(attempt, "Error", started, now, result, JOB_DELETED)
        stuck = _stuck(pod)
        if stuck is not None:
            return AttemptObserved(attempt, "Error", started, now, None, stuck)
        return AttemptObserved(attempt, "Running", started)
    finished = _finished(job, pod) or now
    if complete is not None:
        if pod is None and suite.command is None:
            return AttemptObserved(attempt, "Error", started, finished, None, POD_GONE)
        state, reason = _verdict(suite, 0, result, pod)
        return AttemptObserved(attempt, state, started, finished, result, reason)
    assert failed is not None
    state, reason = _failure(suite, attempt, job, failed, pod, result)
    return AttemptObserved(attempt, state, started, finished, result, reason)


def _failure(
    suite: SuiteSpec,
    attempt: int,
    job: Object,
    condition: Object,
    pod: Object | None,
    result: SuiteResult | None,
) -> tuple[AttemptState, str | None]:
    """Why a failed Job failed: deadline, a deleted pod, the OOM killer, or the suite's exit."""
    deadline = (job.get("spec") or {}).get("activeDeadlineSeconds")
    if condition.get("reason") == "DeadlineExceeded" or _pod_reason(pod) == "DeadlineExceeded":
        limit = fmt(timedelta(seconds=deadline)) if deadline else fmt(suite.timeout)
        return "TimedOut", f"attempt {attempt} exceeded its timeout {limit} (the Job's deadline)"
    terminated = _terminated(pod)
    if pod is None or (_meta(pod).get("deletionTimestamp") and terminated is None):
        return "Error", POD_DELETED
    if terminated is None:
        why = _pod_reason(pod)
        if why:  # e.g. Evicted: the node was low on resource: memory
            message = ((pod.get("status") or {}).get("message") or "").strip()
            return "Error", f"the test pod failed: {why}" + (f": {message}" if message else "")
        return "Error", f"the test Job failed ({condition.get('reason') or 'no reason given'})"
    if terminated.get("reason") == "OOMKilled":
        memory = _memory_limit(pod)
        return "Failed", "killed: out of memory" + (f" (memory limit {memory})" if memory else "")
    if _meta(pod).get("deletionTimestamp") and (result is None or result.outcome != "passed"):
        return "Error", POD_DELETED
    return _verdict(suite, int(terminated.get("exitCode", 1)), result, pod)


def _verdict(
    suite: SuiteSpec, code: int, result: SuiteResult | None, pod: Object | None
) -> tuple[AttemptState, str | None]:
    own = suite.command is not None
    return exit_verdict(code, result, own_command=own, tail=_tail(pod))


def _from_record(record: AttemptStatus, result: SuiteResult | None) -> AttemptObserved:
    return AttemptObserved(
        attempt=record.attempt,
        state=record.state,
        started_at=record.started_at,
        finished_at=record.finished_at,
        result=result,
        reason=record.reason,
    )


def _recorded_result(
    suite: str, record: AttemptStatus, latest: SuiteStatus | None
) -> SuiteResult | None:
    """The result a recorded attempt had; counts and metrics only survive for the latest."""
    if record.outcome is None:
        return None
    if latest is None:
        return SuiteResult(suite=suite, attempt=record.attempt, outcome=record.outcome)
    return SuiteResult(
        suite=suite,
        attempt=record.attempt,
        outcome=record.outcome,
        tests=latest.tests or TestCounts(),
        failures=latest.failures,
        metrics=latest.metrics or Metrics(),
    )


def _pod_result(pod: Object | None, suite: str, attempt: int) -> SuiteResult | None:
    """The compact SuiteResult in the suite container's termination message, if it is one."""
    terminated = _terminated(pod)
    message = (terminated or {}).get("message")
    if not message or not message.lstrip().startswith("{"):
        return None
    try:
        result = SuiteResult.model_validate_json(message)
    except ValidationError:
        return None
    return result if (result.suite, result.attempt) == (suite, attempt) else None


def _tail(pod: Object | None) -> str:
    """The log tail Kubernetes put in the termination message (FallbackToLogsOnError)."""
    message = str((_terminated(pod) or {}).get("message") or "")
    if message.lstrip().startswith("{"):
        return ""
    lines = [line for line in message.splitlines() if line.strip()][-TAIL_LINES:]
    return "; output tail:\n" + "\n".join(lines) if lines else "; the pod printed nothing"


def _stuck(pod: Object | None) -> str | None:
    """Why the suite container can never start (a bad image, a missing Secret), if so."""
    waiting = (_container_status(pod).get("state") or {}).get("waiting") or {}
    reason = waiting.get("reason")
    if reason not in _STUCK:
        return None
    message = waiting.get("message")
    return f"the test pod cannot start: {reason}" + (f": {message}" if message else "")


def _finished(job: Object, pod: Object | None) -> datetime | None:
    status = job.get("status") or {}
    failed = _condition(job, "Failed", "FailureTarget")
    return (
        _time(status.get("completionTime"))
        or _time((_terminated(pod) or {}).get("finishedAt"))
        or (_time(failed.get("lastTransitionTime")) if failed else None)
        or _time(_meta(job).get("deletionTimestamp"))
    )


def _condition(job: Object, *kinds: str) -> Object | None:
    """The first condition of ``kinds`` whose status is True."""
    for kind in kinds:
        for condition in (job.get("status") or {}).get("conditions") or []:
            if condition.get("type") == kind and condition.get("status") == "True":
                return dict(condition)
    return None


def _container_status(pod: Object | None) -> Object:
    statuses = ((pod or {}).get("status") or {}).get("containerStatuses") or []
    named = [s for s in statuses if s.get("name") == SUITE_CONTAINER]
    chosen = named or statuses
    return dict(chosen[0]) if chosen else {}


def _terminated(pod: Object | None) -> Object | None:
    terminated = (_container_status(pod).get("state") or {}).get("terminated")
    return dict(terminated) if terminated else None


def _pod_reason(pod: Object | None) -> str | None:
    return ((pod or {}).get("status") or {}).get("reason")


def _memory_limit(pod: Object) -> str | None:
    containers = (pod.get("spec") or {}).get("containers") or []
    named = [c for c in containers if c.get("name") == SUITE_CONTAINER] or containers
    if not named:
        return None
    limit = ((named[0].get("resources") or {}).get("limits") or {}).get("memory")
    return str(limit) if limit is not None else None


def _status(status: TestRunStatus | Object | None) -> TestRunStatus | None:
    if status is None or isinstance(status, TestRunStatus):
        return status
    if not status.get("phase"):
        return None  # kopf may write status.kopf before the engine wrote anything
    return TestRunStatus.model_validate(status)


def _meta(obj: Object) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _labels(obj: Object) -> Mapping[str, str]:
    return _meta(obj).get("labels") or {}


def _attempt_number(obj: Object) -> int | None:
    raw = _labels(obj).get(LABEL_ATTEMPT, "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not value:
        return None
    return datetime.fromisoformat(str(value))

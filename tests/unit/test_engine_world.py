"""observed_from_world(): the engine's observation rebuilt from a TestRun's status, Jobs and pods.

Two kinds of checks: one rule at a time on hand-made Job and pod dicts (as the API returns
them), and a property: at every step of random simulated runs, an operator that restarted and
rebuilt its observation from the last published status plus the Jobs in the world decides
exactly what the uninterrupted engine decides.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from cqltest.engine import AttemptObserved, Observed, StartSuite, aggregate_status, decide
from cqltest.engine.names import ANNOTATION_CANCEL_REASON, ANNOTATION_CANCELLED, attempt_labels
from cqltest.engine.world import (
    JOB_DELETED,
    POD_DELETED,
    POD_GONE,
    attempt_from_job,
    observed_from_world,
)
from cqltest.model import SuiteSpec, TestRunStatus
from engine_sim import T0, TICK, Script, Simulation, make_spec, result
from hypothesis import HealthCheck, given, settings
from test_engine_properties import scenarios

RUN = "nightly"


def ts(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def job(
    suite: str = "a",
    attempt: int = 1,
    *,
    run: str = RUN,
    started: datetime | None = T0,
    complete: datetime | None = None,
    failed: str | None = None,
    failed_at: datetime | None = None,
    annotations: dict[str, str] | None = None,
    deleting: bool = False,
    deadline: int | None = None,
) -> dict[str, Any]:
    """A batch/v1 Job as the API returns it."""
    conditions = []
    status: dict[str, Any] = {}
    if started is not None:
        status["startTime"] = ts(started)
    if complete is not None:
        conditions.append({"type": "Complete", "status": "True"})
        status["completionTime"] = ts(complete)
        status["succeeded"] = 1
    elif failed is not None:
        at = ts(failed_at or T0 + TICK)
        conditions.append(
            {"type": "Failed", "status": "True", "reason": failed, "lastTransitionTime": at}
        )
        status["failed"] = 1
    else:
        status["active"] = 1
    status["conditions"] = conditions
    meta: dict[str, Any] = {
        "name": f"{run}-{suite}-a{attempt}",
        "labels": attempt_labels(run, suite, attempt),
        "annotations": annotations or {},
        "creationTimestamp": ts(T0 - timedelta(seconds=5)),
    }
    if deleting:
        meta["deletionTimestamp"] = ts(T0 + 2 * TICK)
    spec: dict[str, Any] = {"backoffLimit": 0}
    if deadline is not None:
        spec["activeDeadlineSeconds"] = deadline
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": spec,
        "status": status,
    }


def pod(
    suite: str = "a",
    attempt: int = 1,
    *,
    run: str = RUN,
    exit_code: int | None = None,
    message: str | None = None,
    reason: str | None = None,
    waiting: str | None = None,
    deleting: bool = False,
    pod_reason: str | None = None,
    memory: str | None = None,
    created: datetime = T0,
) -> dict[str, Any]:
    """A pod of a test Job; terminated when ``exit_code`` is given."""
    state: dict[str, Any] = {"running": {"startedAt": ts(T0)}}
    if exit_code is not None:
        terminated: dict[str, Any] = {"exitCode": exit_code, "finishedAt": ts(T0 + TICK)}
        if message is not None:
            terminated["message"] = message
        if reason is not None:
            terminated["reason"] = reason
        state = {"terminated": terminated}
    elif waiting is not None:
        state = {"waiting": {"reason": waiting, "message": "image not found"}}
    status: dict[str, Any] = {
        "containerStatuses": [{"name": "suite", "state": state}],
        "phase": "Failed" if exit_code else "Running",
    }
    if pod_reason:
        status["reason"] = pod_reason
    meta: dict[str, Any] = {"labels": attempt_labels(run, suite, attempt)}
    meta["creationTimestamp"] = ts(created)
    if deleting:
        meta["deletionTimestamp"] = ts(T0 + TICK)
    container: dict[str, Any] = {"name": "suite"}
    if memory:
        container["resources"] = {"limits": {"memory": memory}}
    return {"metadata": meta, "spec": {"containers": [container]}, "status": status}


def summary(suite: str = "a", attempt: int = 1, outcome: str = "passed", **extra: Any) -> str:
    """A compact summary as cqlsuites writes it to the termination message."""
    doc = result(suite, attempt, outcome, **extra).model_dump(mode="json", by_alias=True)
    doc.pop("junitXml", None)
    return json.dumps(doc, separators=(",", ":"))


BUILTIN = SuiteSpec(name="a", suite="smoke")
OWN = SuiteSpec(name="a", image="me/tests:1", command=["./run-tests"])
NOW = T0 + 5 * TICK


def one(
    j: dict[str, Any], p: dict[str, Any] | None = None, s: SuiteSpec = BUILTIN
) -> AttemptObserved:
    return attempt_from_job(s, 1, j, p, NOW)


# -- one rule at a time -------------------------------------------------------------------------


def test_a_running_job_is_a_running_attempt() -> None:
    seen = one(job(), pod())
    assert (seen.state, seen.started_at, seen.finished_at) == ("Running", T0, None)


def test_a_job_not_started_yet_counts_from_its_creation() -> None:
    seen = one(job(started=None))
    assert (seen.state, seen.started_at) == ("Running", T0 - timedelta(seconds=5))


def test_complete_with_a_summary_succeeds_with_the_result() -> None:
    seen = one(
        job(complete=T0 + TICK), pod(exit_code=0, message=summary(tests={"total": 4, "passed": 4}))
    )
    assert (seen.state, seen.reason, seen.finished_at) == ("Succeeded", None, T0 + TICK)
    assert seen.result is not None
    assert seen.result.tests.passed == 4


def test_complete_without_a_result_is_an_error_for_a_builtin_suite() -> None:
    seen = one(job(complete=T0 + TICK), pod(exit_code=0, message="collected 0 items\n"))
    assert seen.state == "Error"
    assert seen.reason is not None
    assert "exited with code 0 and wrote no result" in seen.reason
    assert "collected 0 items" in seen.reason


def test_complete_is_success_for_an_own_command_without_a_result() -> None:
    seen = one(job(complete=T0 + TICK), pod(exit_code=0), s=OWN)
    assert (seen.state, seen.reason) == ("Succeeded", None)


def test_complete_with_its_pod_gone_is_an_error() -> None:
    seen = one(job(complete=T0 + TICK), None)
    assert (seen.state, seen.reason) == ("Error", POD_GONE)


def test_failed_tests_fail_the_attempt_and_keep_the_result() -> None:
    message = summary(outcome="failed", failures=[{"test": "t.py::x", "message": "boom"}])
    seen = one(job(failed="BackoffLimitExceeded"), pod(exit_code=1, message=message))
    assert (seen.state, seen.reason) == ("Failed", None)
    assert seen.result is not None
    assert seen.result.failures[0].test == "t.py::x"


def test_a_suite_that_could_not_run_is_an_error_quoting_why() -> None:
    message = summary(outcome="error", failures=[{"test": "setup", "message": "no keyspace"}])
    seen = one(job(failed="BackoffLimitExceeded"), pod(exit_code=2, message=message))
    assert (seen.state, seen.reason) == ("Error", "suite could not run: no keyspace")


def test_a_crash_without_a_result_quotes_the_log_tail() -> None:
    tail = "Traceback (most recent call last):\n  ...\nImportError: no module named x\n"
    seen = one(job(failed="BackoffLimitExceeded"), pod(exit_code=1, message=tail))
    assert seen.state == "Error"
    assert seen.reason is not None
    assert seen.reason.startswith("suite process exited with code 1 and wrote no result")
    assert "ImportError: no module named x" in seen.reason


def test_an_own_command_failing_is_failed_quoting_its_output() -> None:
    seen = one(
        job(failed="BackoffLimitExceeded"), pod(exit_code=3, message="3 checks failed"), s=OWN
    )
    assert seen.state == "Failed"
    assert seen.reason == "command exited with code 3; output tail:\n3 checks failed"


def test_an_own_command_printing_nothing_says_so() -> None:
    seen = one(job(failed="BackoffLimitExceeded"), pod(exit_code=3), s=OWN)
    assert seen.reason == "command exited with code 3; the pod printed nothing"


def test_passed_but_nonzero_exit_is_an_error() -> None:
    seen = one(job(failed="BackoffLimitExceeded"), pod(exit_code=1, message=summary()))
    assert seen.state == "Error"
    assert seen.reason == "suite reported passed but exited with code 1"


def test_the_deadline_is_a_timeout() -> None:
    seen = one(job(failed="DeadlineExceeded", deadline=900), pod(exit_code=143))
    assert seen.state == "TimedOut"
    assert seen.reason == "attempt 1 exceeded its timeout 15m (the Job's deadline)"


def test_the_pods_deadline_is_a_timeout_too() -> None:
    seen = one(
        job(failed="BackoffLimitExceeded"), pod(exit_code=137, pod_reason="DeadlineExceeded")
    )
    assert seen.state == "TimedOut"
    assert seen.reason == "attempt 1 exceeded its timeout 30m (the Job's deadline)"


def test_the_oom_killer_fails_the_attempt() -> None:
    seen = one(
        job(failed="BackoffLimitExceeded"), pod(exit_code=137, reason="OOMKilled", memory="1Gi")
    )
    assert (seen.state, seen.reason) == ("Failed", "killed: out of memory (memory limit 1Gi)")
    seen = one(job(failed="BackoffLimitExceeded"), pod(exit_code=137, reason="OOMKilled"))
    assert seen.reason == "killed: out of memory"


def test_a_deleted_pod_is_an_error_that_says_so() -> None:
    interrupted = summary(outcome="error", failures=[{"test": "session", "message": "interrupted"}])
    seen = one(
        job(failed="BackoffLimitExceeded"), pod(exit_code=143, message=interrupted, deleting=True)
    )
    assert (seen.state, seen.reason) == ("Error", POD_DELETED)
    assert seen.result is not None  # what it reported is kept
    assert one(job(failed="BackoffLimitExceeded"), None).reason == POD_DELETED
    assert one(job(failed="BackoffLimitExceeded"), pod(deleting=True)).reason == POD_DELETED


def test_a_failed_job_whose_pod_never_ran_names_the_jobs_reason() -> None:
    seen = one(job(failed="BackoffLimitExceeded"), pod())
    assert (seen.state, seen.reason) == ("Error", "the test Job failed (BackoffLimitExceeded)")


def test_an_evicted_pod_says_why() -> None:
    evicted = pod(pod_reason="Evicted")
    evicted["status"]["message"] = "The node was low on resource: memory."
    seen = one(job(failed="BackoffLimitExceeded"), evicted)
    assert (seen.state, seen.reason) == (
        "Error",
        "the test pod failed: Evicted: The node was low on resource: memory.",
    )


def test_a_job_being_deleted_is_an_error() -> None:
    seen = one(job(deleting=True), pod())
    assert (seen.state, seen.reason, seen.finished_at) == ("Error", JOB_DELETED, NOW)


def test_failure_target_counts_as_failed() -> None:
    j = job()
    j["status"]["conditions"] = [
        {"type": "FailureTarget", "status": "True", "reason": "DeadlineExceeded"}
    ]
    assert one(j, pod()).state == "TimedOut"


def test_a_pod_that_can_never_start_is_an_error() -> None:
    seen = one(job(), pod(waiting="ImagePullBackOff"))
    assert seen.state == "Error"
    assert seen.reason == "the test pod cannot start: ImagePullBackOff: image not found"
    assert one(job(), pod(waiting="ContainerCreating")).state == "Running"


def test_a_cancel_recorded_on_the_job_is_kept() -> None:
    notes = {
        ANNOTATION_CANCELLED: "TimedOut",
        ANNOTATION_CANCEL_REASON: "attempt 1 exceeded its timeout 1m",
    }
    seen = one(job(annotations=notes, deleting=True), pod(exit_code=143, deleting=True))
    assert (seen.state, seen.reason) == ("TimedOut", "attempt 1 exceeded its timeout 1m")
    notes[ANNOTATION_CANCELLED] = "Cancelled"
    assert one(job(annotations=notes), pod()).state == "Cancelled"
    notes[ANNOTATION_CANCELLED] = "bogus"
    assert one(job(annotations=notes), pod()).state == "Running"


def test_a_summary_of_another_attempt_is_not_this_ones() -> None:
    seen = one(job(complete=T0 + TICK), pod(exit_code=0, message=summary(attempt=2)))
    assert seen.state == "Error"
    assert seen.result is None


def test_api_client_datetimes_are_accepted() -> None:
    j = job()
    j["status"]["startTime"] = T0
    assert one(j).started_at == T0


# -- the whole observation ----------------------------------------------------------------------


SPEC = make_spec([{"name": "a"}, {"name": "b", "dependsOn": ["a"], "retries": 1}])


def world(
    status: TestRunStatus | dict[str, Any] | None,
    jobs: list[dict[str, Any]] = (),  # type: ignore[assignment]
    pods: list[dict[str, Any]] = (),  # type: ignore[assignment]
    **extra: Any,
) -> Observed:
    return observed_from_world(
        SPEC, run=RUN, status=status, jobs=jobs, pods=pods, created_at=T0, now=NOW, **extra
    )


def ready_status(**suites: list[dict[str, Any]]) -> dict[str, Any]:
    """A status as the API returns it: cluster ready since T0+1m, per-suite histories."""
    return {
        "phase": "Running",
        "startedAt": ts(T0 - TICK),
        "cluster": {
            "name": "nightly",
            "state": "Ready",
            "contactPoints": ["10.0.0.1"],
            "datacenters": {"dc1": "Ready"},
            "startedAt": ts(T0),
            "readyAt": ts(T0 + TICK),
        },
        "suites": [
            {"name": name, "phase": "Running", "wave": 1, "history": history}
            for name, history in suites.items()
        ],
    }


def test_a_new_run_is_absent_and_starts_at_creation() -> None:
    seen = world(None)
    assert seen == Observed(cluster=seen.cluster, started_at=T0)
    assert seen.cluster.state == "Absent"
    assert world({"kopf": {"progress": {}}}).cluster.state == "Absent"


def test_the_cluster_comes_back_from_the_status() -> None:
    seen = world(ready_status())
    cluster = seen.cluster
    assert (cluster.state, cluster.started_at, cluster.ready_at) == ("Ready", T0, T0 + TICK)
    assert (cluster.contact_points, cluster.name, dict(cluster.datacenters)) == (
        ("10.0.0.1",),
        "nightly",
        {"dc1": "Ready"},
    )
    assert seen.started_at == T0 - TICK
    assert not seen.torn_down


@pytest.mark.parametrize(
    ("ready", "reason", "state"),
    [
        (True, "AllSuitesPassed", "Ready"),
        (False, "ClusterReadyTimeout", "Provisioning"),
        (False, "ClusterFailed", "Failed"),
    ],
)
def test_a_torn_down_cluster_comes_back_in_the_state_it_ended_in(
    ready: bool, reason: str, state: str
) -> None:
    status = ready_status()
    status["cluster"]["state"] = "TornDown"
    status["reason"] = reason
    if not ready:
        del status["cluster"]["readyAt"]
    seen = world(status)
    assert seen.torn_down
    assert seen.cluster.state == state


def test_deleting_the_testrun_interrupts_the_run() -> None:
    assert world(ready_status(), deleting=True).interrupted


def test_attempts_come_from_jobs_and_pods() -> None:
    jobs = [job("a", 1, complete=T0 + TICK), job("b", 1)]
    pods = [pod("a", 1, exit_code=0, message=summary("a")), pod("b", 1)]
    seen = world(ready_status(), jobs, pods)
    assert [(a.attempt, a.state) for a in seen.attempts["a"]] == [(1, "Succeeded")]
    assert [(a.attempt, a.state) for a in seen.attempts["b"]] == [(1, "Running")]


def test_other_runs_and_unknown_suites_are_ignored() -> None:
    jobs = [job("a", 1, run="other"), job("zzz", 1), {"metadata": {"labels": {}}}]
    pods = [pod("a", 1, run="other", exit_code=0, message=summary("a"))]
    bad_attempt = job("a", 1)
    bad_attempt["metadata"]["labels"]["cqltest.dev/attempt"] = "one"
    assert world(ready_status(), [*jobs, bad_attempt], pods).attempts == {}


def test_the_newest_pod_of_an_attempt_is_read() -> None:
    old = pod("a", 1, exit_code=1, message="first try", created=T0)
    new = pod("a", 1, exit_code=0, message=summary("a"), created=T0 + TICK)
    seen = world(ready_status(), [job("a", 1, complete=T0 + 2 * TICK)], [new, old])
    assert seen.attempts["a"][0].state == "Succeeded"


def test_a_recorded_final_attempt_wins_over_its_job() -> None:
    history = [
        {
            "attempt": 1,
            "state": "TimedOut",
            "reason": "attempt 1 exceeded its timeout 1m",
            "startedAt": ts(T0),
            "finishedAt": ts(T0 + TICK),
        }
    ]
    # the Job was deleted after the cancel, or still shows the pod killed by SIGTERM
    for jobs in ([], [job("a", 1, failed="BackoffLimitExceeded")]):
        seen = world(ready_status(a=history), jobs, [pod("a", 1, exit_code=143)])
        attempt = seen.attempts["a"][0]
        assert (attempt.state, attempt.reason) == ("TimedOut", "attempt 1 exceeded its timeout 1m")
        assert (attempt.started_at, attempt.finished_at) == (T0, T0 + TICK)


def test_a_recorded_running_attempt_whose_job_is_gone_was_deleted() -> None:
    history = [{"attempt": 1, "state": "Running", "startedAt": ts(T0)}]
    attempt = world(ready_status(a=history)).attempts["a"][0]
    assert (attempt.state, attempt.reason, attempt.started_at, attempt.finished_at) == (
        "Error",
        JOB_DELETED,
        T0,
        NOW,
    )


def test_a_recorded_running_attempt_is_read_from_its_job() -> None:
    history = [{"attempt": 1, "state": "Running", "startedAt": ts(T0)}]
    jobs = [job("a", 1, complete=T0 + TICK)]
    seen = world(ready_status(a=history), jobs, [pod("a", 1, exit_code=0, message=summary("a"))])
    assert seen.attempts["a"][0].state == "Succeeded"


def test_the_latest_recorded_result_keeps_its_counts_and_metrics() -> None:
    spec = make_spec([{"name": "a", "retries": 1, "thresholds": {"p99LatencyMs": 50}}])
    history = [
        {"attempt": 1, "state": "Failed", "outcome": "failed"},
        {"attempt": 2, "state": "Succeeded", "outcome": "passed"},
    ]
    status = ready_status(a=history)
    status["suites"][0].update(
        tests={"total": 3, "passed": 3},
        metrics={"operations": 10, "latencyMs": {"p99": 12.5}},
        failures=[],
    )
    seen = observed_from_world(spec, run=RUN, status=status, jobs=[], created_at=T0, now=NOW)
    first, second = seen.attempts["a"]
    assert first.result is not None
    assert first.result.tests.total == 0  # only the outcome of an older attempt survives
    assert second.result is not None
    assert second.result.tests.passed == 3
    rebuilt = aggregate_status(spec, seen, NOW)
    assert rebuilt.suites[0].phase == "Passed"  # the threshold is checked on the kept metrics
    assert rebuilt.suites[0].thresholds[0].value == 12.5


def test_a_published_status_round_trips() -> None:
    sim = Simulation(SPEC, scripts={"b": [Script("Failed"), Script("Succeeded")]})
    sim.run()
    assert sim.status is not None
    status = sim.status.model_dump(mode="json", by_alias=True, exclude_none=True)
    seen = observed_from_world(SPEC, run=RUN, status=status, jobs=[], created_at=NOW, now=sim.now)
    assert decide(SPEC, seen, sim.now) == decide(SPEC, sim.observe(), sim.now)
    again = aggregate_status(SPEC, seen, sim.now, previous=sim.status)
    assert again.model_dump(exclude={"duration"}) == sim.status.model_dump(exclude={"duration"})


# -- a restarted operator decides what the engine would have decided ------------------------------


def jobs_and_pods(observed: Observed) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The Jobs and pods a Kubernetes backend would show for the simulated attempts."""
    jobs, pods = [], []
    for suite, attempts in observed.attempts.items():
        for a in attempts:
            if a.state in ("TimedOut", "Cancelled"):
                continue  # the operator deleted the Job after recording the cancel
            started = a.started_at
            if a.state == "Running":
                jobs.append(job(suite, a.attempt, started=started))
                pods.append(pod(suite, a.attempt))
                continue
            message = None
            if a.result is not None:
                message = summary(suite, a.attempt, a.result.outcome)
            if a.state == "Succeeded":
                jobs.append(job(suite, a.attempt, started=started, complete=a.finished_at))
                pods.append(pod(suite, a.attempt, exit_code=0, message=message))
            else:
                code = 1 if a.state == "Failed" else 2
                jobs.append(
                    job(
                        suite,
                        a.attempt,
                        started=started,
                        failed="BackoffLimitExceeded",
                        failed_at=a.finished_at,
                    )
                )
                pods.append(pod(suite, a.attempt, exit_code=code, message=message or "crash"))
    return jobs, pods


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(scenarios())
def test_a_restarted_operator_decides_the_same(scenario: tuple[Any, Any, bool, bool]) -> None:
    spec, scripts, cluster_fails, interrupt = scenario
    sim = Simulation(spec, scripts=scripts, cluster_fails=cluster_fails)
    checked = 0

    def check(obs: Observed, now: datetime, actions: list[Any]) -> None:
        nonlocal checked
        if obs.cluster.state != "Ready" or sim.status is None:
            return  # provisioning is observed live by the operator, not rebuilt
        jobs, pods = jobs_and_pods(obs)
        status = sim.status.model_dump(mode="json", by_alias=True, exclude_none=True)
        rebuilt = observed_from_world(
            spec,
            run=RUN,
            status=status,
            jobs=jobs,
            pods=pods,
            created_at=T0,
            now=now,
            deleting=obs.interrupted,
        )
        rebuilt = replace(rebuilt, cluster=obs.cluster)  # the operator reads it live
        assert decide(spec, rebuilt, now) == actions
        for name, attempts in obs.attempts.items():
            assert [(a.attempt, a.state) for a in rebuilt.attempts[name]] == [
                (a.attempt, a.state) for a in attempts
            ]
        checked += 1

    sim.on_decide = check
    if interrupt:
        for _ in range(4):
            if sim.finish is None:
                sim.step()
        sim.interrupted = True
    sim.run(max_steps=400)
    assert checked or cluster_fails or interrupt


def test_a_restart_mid_wave_starts_nothing_twice() -> None:
    spec = make_spec([{"name": "a"}, {"name": "b"}], parallelism=2)
    jobs = [job("a", 1), job("b", 1)]
    seen = observed_from_world(
        spec, run=RUN, status=ready_status(), jobs=jobs, created_at=T0, now=NOW
    )
    assert [a for a in decide(spec, seen, NOW) if isinstance(a, StartSuite)] == []

"""aggregate_status(): phases, conditions, messages, summaries and per-suite details."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from cqltest.engine import (
    ClusterObserved,
    Observed,
    aggregate_status,
    child_name,
    invalid_status,
)
from cqltest.errors import ManifestError, Problem
from cqltest.model import Failure, TestRunStatus
from engine_sim import T0, TICK, Script, Simulation, done, make_spec, observed, result, running

DIAMOND = [
    {"name": "a"},
    {"name": "b", "dependsOn": ["a"]},
    {"name": "c", "dependsOn": ["a"]},
    {"name": "d", "dependsOn": ["b", "c"]},
]


def conditions(status: TestRunStatus) -> dict[str, tuple[str, str]]:
    return {c.type: (c.status, c.reason) for c in status.conditions}


def test_pending_before_provisioning() -> None:
    status = aggregate_status(make_spec(DIAMOND), observed(cluster="Absent"), T0)
    assert status.phase == "Pending"
    assert status.message == "waiting to provision the cluster"
    assert conditions(status) == {
        "ClusterReady": ("False", "NotProvisioned"),
        "Completed": ("False", "InProgress"),
        "Succeeded": ("Unknown", "InProgress"),
    }
    assert status.waves == [["a"], ["b", "c"], ["d"]]
    assert [s.phase for s in status.suites] == ["Pending"] * 4


def test_provisioning() -> None:
    status = aggregate_status(make_spec(DIAMOND), observed(cluster="Provisioning"), T0)
    assert status.phase == "Provisioning"
    assert status.message == "provisioning the cluster"
    assert conditions(status)["ClusterReady"] == ("False", "Provisioning")


def test_a_run_waiting_for_pool_capacity_says_so() -> None:
    waiting = "waiting for pool p capacity: 1/1 clusters of this shape claimed by ns/other"
    seen = observed(cluster="Provisioning")
    seen = replace(seen, cluster=replace(seen.cluster, message=waiting, waiting=waiting))
    assert aggregate_status(make_spec(DIAMOND), seen, T0).message == waiting


def test_running_message_names_the_wave_and_counts() -> None:
    spec = make_spec(DIAMOND, parallelism=2)
    obs = observed(attempts={"a": [done()], "b": [running()], "c": [running()]})
    status = aggregate_status(spec, obs, T0 + TICK)
    assert status.phase == "Running"
    assert status.message == "wave 2/3: 2 running"
    assert conditions(status)["ClusterReady"] == ("True", "Provisioned")
    assert status.summary is not None
    assert status.summary.progress == "1/4"
    assert status.summary.suites.running == 2
    assert status.summary.suites.pending == 1


def test_running_message_counts_retries() -> None:
    spec = make_spec([{"name": "a", "retries": 1}, {"name": "b"}], parallelism=2)
    obs = observed(attempts={"a": [done("Failed")], "b": [running()]})
    assert aggregate_status(spec, obs, T0).message == "wave 1/1: 1 running, 1 retrying"


def test_stopping_message() -> None:
    spec = make_spec([{"name": "a"}])
    obs = observed(attempts={"a": [running()]}, interrupted=True)
    status = aggregate_status(spec, obs, T0)
    assert status.message == "wave 1/1: 1 running, stopping: the run was interrupted"


def test_success_sets_succeeded_and_completed_true() -> None:
    spec = make_spec([{"name": "a"}])
    status = aggregate_status(spec, observed(attempts={"a": [done()]}, torn_down=True), T0)
    assert status.phase == "Succeeded"
    assert status.reason == "AllSuitesPassed"
    assert conditions(status) == {
        "ClusterReady": ("False", "TornDown"),
        "Completed": ("True", "Succeeded"),
        "Succeeded": ("True", "AllSuitesPassed"),
    }
    assert status.finished_at == T0
    assert status.cluster is not None
    assert status.cluster.state == "TornDown"


def test_failure_sets_succeeded_false() -> None:
    spec = make_spec([{"name": "a"}, {"name": "b", "dependsOn": ["a"]}])
    status = aggregate_status(spec, observed(attempts={"a": [done("Failed")]}), T0)
    assert status.phase == "Failed"
    assert conditions(status)["Succeeded"] == ("False", "SuitesFailed")
    assert conditions(status)["Completed"] == ("True", "Failed")
    assert status.message == "1 of 2 suites did not pass: a (Failed); 1 skipped"
    assert status.suites[1].reason == "dependency a Failed"


def test_cluster_failure_is_an_error_phase() -> None:
    spec = make_spec([{"name": "a"}])
    obs = Observed(cluster=ClusterObserved("Failed", message="node 1 died"), started_at=T0)
    status = aggregate_status(spec, obs, T0)
    assert status.phase == "Error"
    assert conditions(status) == {
        "ClusterReady": ("False", "ProvisioningFailed"),
        "Completed": ("True", "Error"),
        "Succeeded": ("False", "ClusterFailed"),
    }
    assert status.message == "the cluster failed: node 1 died"


def test_existing_cluster_ready_condition_says_attached() -> None:
    spec = make_spec(
        [{"name": "a"}],
        cluster={"existing": {"contactPoints": ["10.0.0.1"], "localDatacenter": "dc1"}},
    )
    status = aggregate_status(spec, observed(), T0)
    assert conditions(status)["ClusterReady"] == ("True", "Attached")
    assert status.cluster is not None
    assert status.cluster.existing is True


def test_transition_times_are_kept_while_a_condition_does_not_change() -> None:
    spec = make_spec([{"name": "a"}])
    first = aggregate_status(spec, observed(attempts={"a": [running()]}), T0)
    later = T0 + timedelta(minutes=5)
    second = aggregate_status(spec, observed(attempts={"a": [running()]}), later, previous=first)
    assert [c.last_transition_time for c in second.conditions] == [T0, T0, T0]
    third = aggregate_status(spec, observed(attempts={"a": [done()]}), later, previous=second)
    times = {c.type: c.last_transition_time for c in third.conditions}
    assert times == {"ClusterReady": T0, "Completed": later, "Succeeded": later}
    fourth = aggregate_status(
        spec, observed(attempts={"a": [done()]}), later + TICK, previous=third
    )
    assert fourth.finished_at == later


def test_generation_is_observed_everywhere() -> None:
    status = aggregate_status(make_spec([{"name": "a"}]), observed(), T0, generation=3)
    assert status.observed_generation == 3
    assert {c.observed_generation for c in status.conditions} == {3}


def test_suite_details_come_from_the_latest_result() -> None:
    spec = make_spec([{"name": "a", "retries": 1, "thresholds": {"p99LatencyMs": 10}}])
    first = result("a", 1, "failed", failures=[{"test": "t::x", "message": "boom"}])
    second = result(
        "a",
        2,
        metrics={"operations": 10, "opsPerSecond": 5.0, "latencyMs": {"p99": 3.0}},
        tests={"total": 4, "passed": 4},
    )
    attempts = [
        done("Failed", res=first, start=T0, end=T0 + TICK),
        done(res=second, attempt=2, start=T0 + 2 * TICK, end=T0 + 4 * TICK),
    ]
    status = aggregate_status(spec, observed(attempts={"a": attempts}), T0 + 5 * TICK)
    suite = status.suites[0]
    assert suite.phase == "Passed"
    assert suite.attempts == 2
    assert suite.started_at == T0
    assert suite.finished_at == T0 + 4 * TICK
    assert suite.duration_seconds == 180.0
    assert suite.tests is not None
    assert suite.tests.total == 4
    assert suite.failures == []
    assert suite.metrics is not None
    assert suite.metrics.operations == 10
    assert [(t.metric, t.ok) for t in suite.thresholds] == [("p99LatencyMs", True)]
    assert status.summary is not None
    assert status.summary.tests.total == 4


def test_running_suite_duration_counts_up_to_now() -> None:
    spec = make_spec([{"name": "a"}])
    status = aggregate_status(spec, observed(attempts={"a": [running()]}), T0 + 2 * TICK)
    assert status.suites[0].duration_seconds == 120.0
    assert status.suites[0].finished_at is None
    assert status.duration == "2m"


def test_failures_in_status_are_bounded() -> None:
    spec = make_spec([{"name": "a"}])
    failures = [{"test": f"t{i}", "message": "x" * 5000} for i in range(50)]
    res = result("a", outcome="failed", failures=failures)
    status = aggregate_status(spec, observed(attempts={"a": [done("Failed", res=res)]}), T0)
    kept = status.suites[0].failures
    assert len(kept) == 20
    assert all(len(f.message) == 2000 and f.message.endswith("...") for f in kept)
    assert isinstance(kept[0], Failure)


def test_summary_counts_every_phase() -> None:
    spec = make_spec(
        [
            {"name": "p"},
            {"name": "f"},
            {"name": "t"},
            {"name": "e"},
            {"name": "s", "dependsOn": ["f"]},
        ],
        parallelism=5,
    )
    obs = observed(
        attempts={
            "p": [done()],
            "f": [done("Failed")],
            "t": [done("TimedOut")],
            "e": [done("Error")],
        }
    )
    summary = aggregate_status(spec, obs, T0).summary
    assert summary is not None
    assert summary.suites.model_dump() == {
        "total": 5,
        "pending": 0,
        "running": 0,
        "passed": 1,
        "failed": 1,
        "timed_out": 1,
        "skipped": 1,
        "error": 1,
    }
    assert summary.progress == "1/5"


def test_cluster_status_reports_provision_time() -> None:
    spec = make_spec([{"name": "a"}])
    cluster = ClusterObserved(
        "Ready",
        contact_points=("127.0.1.1",),
        started_at=T0,
        ready_at=T0 + timedelta(seconds=42),
        name="run-1",
        datacenters={"dc1": "Ready"},
    )
    status = aggregate_status(spec, Observed(cluster=cluster, started_at=T0), T0)
    assert status.cluster is not None
    assert status.cluster.model_dump(by_alias=True) == {
        "name": "run-1",
        "state": "Ready",
        "existing": False,
        "contactPoints": ["127.0.1.1"],
        "datacenters": {"dc1": "Ready"},
        "provisionSeconds": 42.0,
        "message": None,
        "startedAt": T0,
        "readyAt": T0 + timedelta(seconds=42),
    }


def test_status_round_trips_through_json() -> None:
    sim = Simulation(
        make_spec(DIAMOND, parallelism=2),
        scripts={"b": [Script("Failed")]},
    )
    sim.run()
    status = aggregate_status(sim.spec, sim.observe(), sim.now)
    text = json.dumps(status.model_dump(mode="json", by_alias=True, exclude_none=True))
    assert TestRunStatus.model_validate_json(text) == status
    assert '"observedGeneration"' not in text
    assert '"lastTransitionTime"' in text


def test_invalid_status() -> None:
    error = ManifestError([Problem("spec.suites", [], "at least one suite is required")])
    status = invalid_status(error, T0, generation=2)
    assert status.phase == "Invalid"
    assert status.message == "spec.suites: at least one suite is required"
    assert conditions(status) == {
        "ClusterReady": ("False", "Invalid"),
        "Completed": ("True", "Invalid"),
        "Succeeded": ("False", "Invalid"),
    }
    again = invalid_status(error, T0 + TICK, generation=2, previous=status)
    assert again.finished_at == T0
    assert {c.last_transition_time for c in again.conditions} == {T0}


def test_child_names_are_deterministic_dns_labels() -> None:
    assert child_name("nightly", "stress", 2) == "nightly-stress-a2"
    assert child_name("Night.Run", "x", 1) == "night-run-x-a1"
    long = child_name("r" * 60, "suite-" * 10, 10)
    assert len(long) == 63
    assert long.endswith("-a10")
    assert long == child_name("r" * 60, "suite-" * 10, 10)
    assert long != child_name("r" * 60, "suite-" * 9 + "other", 10)
    import re

    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", long)


def test_a_cluster_lost_mid_run_keeps_the_run_phase_while_suites_stop() -> None:
    spec = make_spec([{"name": "a"}])
    lost = ClusterObserved("Failed", message="gone", started_at=T0, ready_at=T0)
    obs = Observed(cluster=lost, started_at=T0, attempts={"a": [running()]})
    status = aggregate_status(spec, obs, T0)
    assert status.phase == "Running"
    assert status.message == "wave 1/1: 1 running, stopping: the cluster failed: gone"


def test_long_messages_fit_in_a_condition() -> None:
    error = ManifestError([Problem(f"spec.x{i}", None, "y" * 100) for i in range(1000)])
    status = invalid_status(error, T0)
    assert all(len(c.message) <= 32768 for c in status.conditions)


def test_a_status_written_back_with_kopf_progress_parses() -> None:
    spec = make_spec([{"name": "a"}])
    status = aggregate_status(spec, observed(), T0)
    body = status.model_dump(mode="json", by_alias=True, exclude_none=True)
    body["kopf"] = {"progress": {"handler": {"started": "2026-01-01T00:00:00Z"}}}
    assert TestRunStatus.model_validate(body).kopf == body["kopf"]


def test_every_attempt_is_kept_in_the_suite_history() -> None:
    sim = Simulation(
        make_spec([{"name": "a", "retries": 1}]),
        scripts={"a": [Script("Failed"), Script("Succeeded")]},
    )
    sim.run()
    assert sim.status is not None
    history = sim.status.suites[0].history
    assert [(h.attempt, h.state, h.outcome) for h in history] == [
        (1, "Failed", "failed"),
        (2, "Succeeded", "passed"),
    ]
    assert all(h.started_at is not None and h.finished_at is not None for h in history)
    cluster = sim.status.cluster
    assert cluster is not None
    assert cluster.started_at is not None
    assert cluster.ready_at is not None


def test_history_reasons_are_bounded() -> None:
    spec = make_spec([{"name": "a"}])
    attempts = {"a": [done("Failed", reason="x" * 5000)]}
    status = aggregate_status(spec, observed(attempts=attempts), T0 + TICK)
    [suite] = status.suites
    assert len(suite.history[0].reason or "") == 1000

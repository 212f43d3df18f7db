"""decide(): provisioning, scheduling, retries, timeouts, failFast, skips and teardown."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cqltest.engine import (
    CancelSuite,
    Finish,
    ProvisionCluster,
    StartSuite,
    TeardownCluster,
    decide,
    evaluate,
)
from cqltest.errors import ManifestError
from engine_sim import T0, TICK, Script, Simulation, done, make_spec, observed, result, running

DIAMOND = [
    {"name": "a"},
    {"name": "b", "dependsOn": ["a"]},
    {"name": "c", "dependsOn": ["a"]},
    {"name": "d", "dependsOn": ["b", "c"]},
]


def phases(spec, obs, now=T0):  # type: ignore[no-untyped-def]
    return {name: v.phase for name, v in evaluate(spec, obs, now).suites.items()}


def reasons(spec, obs, now=T0):  # type: ignore[no-untyped-def]
    return {name: v.reason for name, v in evaluate(spec, obs, now).suites.items()}


# --- cluster ---------------------------------------------------------------------------------


def test_absent_cluster_is_provisioned_first() -> None:
    spec = make_spec([{"name": "a"}])
    assert decide(spec, observed(cluster="Absent"), T0) == [ProvisionCluster()]


def test_existing_cluster_is_attached_through_provision() -> None:
    spec = make_spec(
        [{"name": "a"}],
        cluster={"existing": {"contactPoints": ["10.0.0.1"], "localDatacenter": "dc1"}},
    )
    assert decide(spec, observed(cluster="Absent"), T0) == [ProvisionCluster()]


def test_provisioning_cluster_waits() -> None:
    spec = make_spec([{"name": "a"}])
    assert decide(spec, observed(cluster="Provisioning"), T0 + timedelta(minutes=5)) == []


def test_ready_timeout_fails_the_run_with_error() -> None:
    spec = make_spec(
        [{"name": "a"}], cluster={"datacenters": [{"name": "dc1", "size": 1}], "readyTimeout": "2m"}
    )
    actions = decide(spec, observed(cluster="Provisioning"), T0 + timedelta(minutes=3))
    assert actions == [
        TeardownCluster(),
        Finish("Error", "ClusterReadyTimeout", "the cluster was not ready within readyTimeout 2m"),
    ]
    assert reasons(spec, observed(cluster="Provisioning"), T0 + timedelta(minutes=3)) == {
        "a": "not started: the cluster was not ready within readyTimeout 2m"
    }


def test_ready_timeout_not_reached_exactly_at_the_limit() -> None:
    spec = make_spec(
        [{"name": "a"}], cluster={"datacenters": [{"name": "dc1", "size": 1}], "readyTimeout": "2m"}
    )
    assert decide(spec, observed(cluster="Provisioning"), T0 + timedelta(minutes=2)) == []


def test_failed_cluster_ends_in_error_and_skips_everything() -> None:
    spec = make_spec(DIAMOND)
    obs = observed(cluster="Failed")
    actions = decide(spec, obs, T0)
    assert actions[-1] == Finish("Error", "ClusterFailed", "the cluster failed")
    assert set(phases(spec, obs).values()) == {"Skipped"}


def test_failed_cluster_cancels_running_suites() -> None:
    spec = make_spec([{"name": "a"}])
    obs = observed(cluster="Failed", attempts={"a": [running()]})
    assert decide(spec, obs, T0) == [
        CancelSuite("a", 1, "the cluster failed", "Cancelled"),
    ]


# --- scheduling ------------------------------------------------------------------------------


def test_first_wave_starts_up_to_parallelism_in_spec_order() -> None:
    spec = make_spec([{"name": n} for n in "abcde"], parallelism=2)
    assert decide(spec, observed(), T0) == [StartSuite("a", 1), StartSuite("b", 1)]


def test_running_suites_use_up_the_cap() -> None:
    spec = make_spec([{"name": n} for n in "abcde"], parallelism=2)
    obs = observed(attempts={"a": [running()], "b": [done()]})
    assert decide(spec, obs, T0) == [StartSuite("c", 1)]


def test_a_dependent_waits_for_all_its_dependencies() -> None:
    spec = make_spec(DIAMOND, parallelism=4)
    obs = observed(attempts={"a": [done()], "b": [done()], "c": [running()]})
    assert decide(spec, obs, T0) == []
    assert reasons(spec, obs)["d"] == "waiting for c"
    obs = observed(attempts={"a": [done()], "b": [done()], "c": [done()]})
    assert decide(spec, obs, T0) == [StartSuite("d", 1)]


def test_lower_waves_start_first() -> None:
    spec = make_spec(
        [{"name": "x"}, {"name": "late", "dependsOn": ["x"]}, {"name": "y"}], parallelism=1
    )
    obs = observed(attempts={"x": [done()]})
    assert decide(spec, obs, T0) == [StartSuite("y", 1)]


def test_diamond_runs_to_success() -> None:
    spec = make_spec(DIAMOND, parallelism=2)
    sim = Simulation(spec)
    finish = sim.run()
    assert finish == Finish("Succeeded", "AllSuitesPassed", "all 4 suites passed")
    starts = [a for step in sim.history for a in step if isinstance(a, StartSuite)]
    assert [s.name for s in starts] == ["a", "b", "c", "d"]
    assert sim.torn_down


# --- failures, skips, failFast ---------------------------------------------------------------


def test_dependents_of_a_failed_suite_are_skipped_naming_it() -> None:
    spec = make_spec([*DIAMOND, {"name": "e", "dependsOn": ["d"]}])
    obs = observed(attempts={"a": [done("Failed", res=result("a", outcome="failed"))]})
    got = reasons(spec, obs)
    assert got["b"] == "dependency a Failed"
    assert got["c"] == "dependency a Failed"
    assert got["d"] == "dependency a Failed (via b)"
    assert got["e"] == "dependency a Failed (via d -> b)"
    assert phases(spec, obs) == {
        "a": "Failed",
        "b": "Skipped",
        "c": "Skipped",
        "d": "Skipped",
        "e": "Skipped",
    }
    assert decide(spec, obs, T0)[-1] == Finish(
        "Failed", "SuitesFailed", "1 of 5 suites did not pass: a (Failed); 4 skipped"
    )


def test_failed_attempt_reason_names_the_first_failed_tests() -> None:
    spec = make_spec([{"name": "a"}])
    failures = [{"test": f"t.py::test_{i}", "message": "boom"} for i in range(4)]
    res = result("a", outcome="failed", tests={"total": 9, "failed": 4}, failures=failures)
    obs = observed(attempts={"a": [done("Failed", res=res)]})
    assert reasons(spec, obs)["a"] == ("4 of 9 tests failed: t.py::test_0, t.py::test_1 and 2 more")


def test_a_timed_out_dependency_is_named_with_its_phase() -> None:
    spec = make_spec([{"name": "a"}, {"name": "b", "dependsOn": ["a"]}])
    obs = observed(attempts={"a": [done("TimedOut", reason="exceeded")]})
    assert reasons(spec, obs)["b"] == "dependency a TimedOut"


def test_failed_attempt_reason_counts_failed_tests() -> None:
    spec = make_spec([{"name": "a"}])
    res = result("a", outcome="failed", tests={"total": 5, "passed": 3, "failed": 1, "errors": 1})
    obs = observed(attempts={"a": [done("Failed", res=res)]})
    assert reasons(spec, obs)["a"] == "2 of 5 tests failed"


def test_independent_suites_keep_running_without_fail_fast() -> None:
    spec = make_spec([{"name": "a"}, {"name": "b"}], parallelism=1)
    obs = observed(attempts={"a": [done("Failed")]})
    assert decide(spec, obs, T0) == [StartSuite("b", 1)]


def test_fail_fast_starts_nothing_new_and_lets_running_suites_finish() -> None:
    spec = make_spec([{"name": n} for n in "abc"], parallelism=2, failFast=True)
    obs = observed(attempts={"a": [done("Failed")], "b": [running()]})
    assert decide(spec, obs, T0) == []
    assert phases(spec, obs) == {"a": "Failed", "b": "Running", "c": "Skipped"}
    assert reasons(spec, obs)["c"] == "not started: failFast after a failed"
    obs = observed(attempts={"a": [done("Failed")], "b": [done()]})
    assert decide(spec, obs, T0) == [
        TeardownCluster(),
        Finish("Failed", "SuitesFailed", "1 of 3 suites did not pass: a (Failed); 1 skipped"),
    ]


def test_fail_fast_waits_for_retries_of_the_failing_suite() -> None:
    spec = make_spec([{"name": "a", "retries": 1}, {"name": "b"}], parallelism=1, failFast=True)
    obs = observed(attempts={"a": [done("Failed")]})
    assert decide(spec, obs, T0) == [StartSuite("a", 2)]


def test_fail_fast_blocks_other_suites_retries() -> None:
    spec = make_spec([{"name": "a"}, {"name": "b", "retries": 2}], parallelism=2, failFast=True)
    obs = observed(attempts={"a": [done("Failed")], "b": [done("Failed")]})
    assert phases(spec, obs) == {"a": "Failed", "b": "Failed"}
    assert decide(spec, obs, T0)[-1].phase == "Failed"  # type: ignore[union-attr]


# --- retries ---------------------------------------------------------------------------------


def test_a_failed_attempt_is_retried_with_the_next_number() -> None:
    spec = make_spec([{"name": "a", "retries": 2}])
    obs = observed(attempts={"a": [done("Failed"), done("Error", 2)]})
    assert decide(spec, obs, T0) == [StartSuite("a", 3)]
    view = evaluate(spec, obs, T0).suites["a"]
    assert view.phase == "Pending"
    assert view.reason == "attempt 2 Error: error; retrying (attempt 3 of 3)"


def test_retries_exhausted_fail_the_suite() -> None:
    spec = make_spec([{"name": "a", "retries": 1}])
    obs = observed(attempts={"a": [done("Failed"), done("Failed", 2)]})
    assert phases(spec, obs) == {"a": "Failed"}
    assert isinstance(decide(spec, obs, T0)[-1], Finish)


def test_a_retry_that_passes_passes_the_suite() -> None:
    spec = make_spec([{"name": "a", "retries": 1}])
    sim = Simulation(spec, scripts={"a": [Script("Failed"), Script("Succeeded")]})
    assert sim.run().phase == "Succeeded"
    assert [a.attempt for a in sim.attempts["a"]] == [1, 2]


def test_cancelled_attempts_are_not_retried() -> None:
    spec = make_spec([{"name": "a", "retries": 3}])
    obs = observed(attempts={"a": [done("Cancelled", reason="the run was interrupted")]})
    assert phases(spec, obs) == {"a": "Error"}
    assert reasons(spec, obs) == {"a": "the run was interrupted"}


def test_running_suite_reason_counts_attempts_when_retries_are_allowed() -> None:
    spec = make_spec([{"name": "a", "retries": 2}])
    obs = observed(attempts={"a": [done("Failed"), running(2)]})
    assert reasons(spec, obs) == {"a": "attempt 2 of 3"}


# --- timeouts --------------------------------------------------------------------------------


def test_a_suite_past_its_timeout_is_cancelled_as_timed_out() -> None:
    spec = make_spec([{"name": "a", "timeout": "10m"}])
    obs = observed(attempts={"a": [running()]})
    assert decide(spec, obs, T0 + timedelta(minutes=10)) == []
    assert decide(spec, obs, T0 + timedelta(minutes=11)) == [
        CancelSuite("a", 1, "attempt 1 exceeded its timeout 10m", "TimedOut")
    ]


def test_a_timed_out_attempt_is_retried_then_reported() -> None:
    spec = make_spec([{"name": "a", "timeout": "2m", "retries": 1}])
    sim = Simulation(spec, scripts={"a": [Script("Hang"), Script("Hang")]})
    finish = sim.run()
    assert finish.phase == "Failed"
    assert [a.state for a in sim.attempts["a"]] == ["TimedOut", "TimedOut"]
    view = evaluate(spec, sim.observe(), sim.now).suites["a"]
    assert view.phase == "TimedOut"
    assert view.reason == "attempt 2 exceeded its timeout 2m"


def test_run_timeout_cancels_running_and_skips_the_rest() -> None:
    spec = make_spec([{"name": "a"}, {"name": "b"}], timeout="1h", parallelism=1)
    late = T0 + timedelta(hours=1, minutes=1)
    obs = observed(attempts={"a": [running(at=T0 + timedelta(minutes=50))]})
    assert decide(spec, obs, late) == [
        CancelSuite("a", 1, "the run exceeded its timeout 1h", "TimedOut")
    ]
    assert reasons(spec, obs, late)["b"] == "not started: the run exceeded its timeout 1h"
    obs = observed(attempts={"a": [done("TimedOut", reason="the run exceeded its timeout 1h")]})
    assert decide(spec, obs, late) == [
        TeardownCluster(),
        Finish("Failed", "RunTimeout", "the run exceeded its timeout 1h"),
    ]


def test_run_timeout_counts_from_cluster_ready() -> None:
    spec = make_spec([{"name": "a"}], timeout="10m")
    obs = observed(attempts={"a": [running(at=T0 + timedelta(minutes=30))]})
    ready_late = obs.cluster.__class__(
        state="Ready", started_at=T0, ready_at=T0 + timedelta(minutes=30)
    )
    obs_late = obs.__class__(cluster=ready_late, started_at=T0, attempts=obs.attempts)
    assert decide(spec, obs_late, T0 + timedelta(minutes=35)) == []


def test_run_timeout_does_not_retry() -> None:
    spec = make_spec([{"name": "a", "retries": 2}], timeout="5m")
    sim = Simulation(spec, scripts={"a": [Script("Hang")]})
    assert sim.run() == Finish("Failed", "RunTimeout", "the run exceeded its timeout 5m")
    assert len(sim.attempts["a"]) == 1


# --- interruption ----------------------------------------------------------------------------


def test_interrupt_cancels_running_then_finishes_failed() -> None:
    spec = make_spec([{"name": "a"}, {"name": "b"}])
    obs = observed(attempts={"a": [running()]}, interrupted=True)
    assert decide(spec, obs, T0) == [CancelSuite("a", 1, "the run was interrupted", "Cancelled")]
    obs = observed(
        attempts={"a": [done("Cancelled", reason="the run was interrupted")]}, interrupted=True
    )
    assert decide(spec, obs, T0) == [
        TeardownCluster(),
        Finish("Failed", "Interrupted", "the run was interrupted"),
    ]
    assert phases(spec, obs) == {"a": "Error", "b": "Skipped"}


def test_interrupt_before_provisioning_finishes_without_teardown() -> None:
    spec = make_spec([{"name": "a"}])
    obs = observed(cluster="Absent", interrupted=True)
    assert decide(spec, obs, T0) == [Finish("Failed", "Interrupted", "the run was interrupted")]


# --- thresholds ------------------------------------------------------------------------------


def _metrics(**values: float) -> dict[str, object]:
    latency = {k: v for k, v in values.items() if k in ("p50", "p95", "p99", "max")}
    rest = {k: v for k, v in values.items() if k not in latency}
    return {"latencyMs": latency, **rest}


def test_a_breached_threshold_fails_the_suite_naming_metric_limit_and_value() -> None:
    spec = make_spec([{"name": "a", "thresholds": {"p99LatencyMs": 50, "errorRate": 0.01}}])
    res = result("a", metrics=_metrics(p99=73.5, errorRate=0.0))
    obs = observed(attempts={"a": [done(res=res)]})
    view = evaluate(spec, obs, T0).suites["a"]
    assert view.phase == "Failed"
    assert view.reason == "threshold breached: p99LatencyMs 73.5 > limit 50"
    assert [(t.metric, t.limit, t.value, t.ok) for t in view.thresholds] == [
        ("p99LatencyMs", 50, 73.5, False),
        ("errorRate", 0.01, 0.0, True),
    ]


def test_thresholds_met_pass_the_suite() -> None:
    spec = make_spec([{"name": "a", "thresholds": {"p95LatencyMs": 5, "minOpsPerSecond": 100}}])
    res = result("a", metrics=_metrics(p95=4.0, opsPerSecond=150.0))
    obs = observed(attempts={"a": [done(res=res)]})
    view = evaluate(spec, obs, T0).suites["a"]
    assert view.phase == "Passed"
    assert all(t.ok for t in view.thresholds)


def test_min_ops_per_second_is_a_lower_bound() -> None:
    spec = make_spec([{"name": "a", "thresholds": {"minOpsPerSecond": 100}}])
    res = result("a", metrics=_metrics(opsPerSecond=50.0))
    view = evaluate(spec, observed(attempts={"a": [done(res=res)]}), T0).suites["a"]
    assert view.reason == "threshold breached: minOpsPerSecond 50 < limit 100"


def test_a_threshold_without_a_measured_value_is_breached() -> None:
    spec = make_spec([{"name": "a", "thresholds": {"p50LatencyMs": 1, "maxLatencyMs": 9}}])
    view = evaluate(spec, observed(attempts={"a": [done()]}), T0).suites["a"]
    assert view.phase == "Failed"
    assert view.reason == (
        "threshold breached: p50LatencyMs: no value recorded (limit 1); "
        "maxLatencyMs: no value recorded (limit 9)"
    )


def test_a_threshold_breach_is_retried() -> None:
    spec = make_spec([{"name": "a", "retries": 1, "thresholds": {"p99LatencyMs": 10}}])
    res = result("a", metrics=_metrics(p99=20.0))
    assert decide(spec, observed(attempts={"a": [done(res=res)]}), T0) == [StartSuite("a", 2)]


# --- teardown --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "succeed", "teardown"),
    [
        ("Always", True, True),
        ("Always", False, True),
        ("OnSuccess", True, True),
        ("OnSuccess", False, False),
        ("Never", True, False),
        ("Never", False, False),
    ],
)
def test_teardown_policy(policy: str, succeed: bool, teardown: bool) -> None:
    spec = make_spec(
        [{"name": "a"}],
        cluster={"datacenters": [{"name": "dc1", "size": 1}], "teardown": policy},
    )
    obs = observed(attempts={"a": [done("Succeeded" if succeed else "Failed")]})
    actions = decide(spec, obs, T0)
    assert (TeardownCluster() in actions) is teardown
    assert isinstance(actions[-1], Finish)


def test_an_existing_cluster_is_never_torn_down() -> None:
    spec = make_spec(
        [{"name": "a"}],
        cluster={
            "existing": {"contactPoints": ["10.0.0.1"], "localDatacenter": "dc1"},
            "teardown": "Always",
        },
    )
    assert decide(spec, observed(attempts={"a": [done()]}), T0) == [
        Finish("Succeeded", "AllSuitesPassed", "the suite passed")
    ]


def test_a_torn_down_cluster_is_not_torn_down_again() -> None:
    spec = make_spec([{"name": "a"}])
    obs = observed(attempts={"a": [done()]}, torn_down=True)
    assert decide(spec, obs, T0) == [Finish("Succeeded", "AllSuitesPassed", "the suite passed")]


# --- idempotency -----------------------------------------------------------------------------


def test_deciding_twice_gives_the_same_actions() -> None:
    spec = make_spec(DIAMOND, parallelism=2)
    obs = observed(attempts={"a": [done()]})
    assert (
        decide(spec, obs, T0) == decide(spec, obs, T0) == [StartSuite("b", 1), StartSuite("c", 1)]
    )


def test_a_started_attempt_is_not_started_again() -> None:
    spec = make_spec([{"name": "a"}])
    assert decide(spec, observed(attempts={"a": [running()]}), T0 + TICK) == []


def test_attempt_numbers_continue_after_gaps() -> None:
    spec = make_spec([{"name": "a", "retries": 5}])
    obs = observed(attempts={"a": [done("Failed", 3), done("Failed", 1)]})
    assert decide(spec, obs, T0) == [StartSuite("a", 4)]


def test_a_suite_that_succeeded_without_a_result_passes() -> None:
    spec = make_spec([{"name": "a", "command": ["true"], "suite": None}])
    assert phases(spec, observed(attempts={"a": [done()]})) == {"a": "Passed"}


def test_an_invalid_graph_raises_manifest_error() -> None:
    spec = make_spec([{"name": "a", "dependsOn": ["b"]}, {"name": "b", "dependsOn": ["a"]}])
    with pytest.raises(ManifestError, match="dependency cycle: a -> b -> a"):
        decide(spec, observed(), T0)


def test_cluster_failure_simulation_ends_in_error() -> None:
    sim = Simulation(make_spec(DIAMOND), cluster_fails=True)
    assert sim.run() == Finish("Error", "ClusterFailed", "the cluster failed: boom")
    assert sim.torn_down

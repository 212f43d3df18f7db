"""Faults in the engine: inject and heal decided from time and suite state alone, once each."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cqltest.engine import (
    CancelSuite,
    FaultObserved,
    Finish,
    HealFault,
    InjectFault,
    Observed,
    StartSuite,
    TeardownCluster,
    aggregate_status,
    decide,
)
from cqltest.engine.evaluate import evaluate
from cqltest.engine.faults import hold
from cqltest.engine.world import observed_from_world
from cqltest.model import TestRunSpec
from engine_sim import T0, done, make_spec, observed, result, running

S = timedelta(seconds=1)


def spec(*faults: dict[str, Any], **fields: Any) -> TestRunSpec:
    return make_spec(
        [{"name": "load"}, {"name": "after", "dependsOn": ["load"]}],
        cluster={"datacenters": [{"name": "dc1", "size": 3}]},
        faults=list(faults),
        **fields,
    )


KILL = {"name": "kill", "action": "NodeKill", "when": {"duringSuite": "load", "afterSeconds": 30}}
CUT = {
    "name": "cut",
    "action": "Partition",
    "when": {"beforeSuite": "load"},
    "between": [{"nodes": [0]}, {"nodes": [1, 2]}],
    "duration": "20s",
}


def seen(**fields: Any) -> Observed:
    faults = fields.pop("faults", {})
    return observed(faults=faults, **fields)


def test_a_during_suite_fault_is_injected_after_its_seconds_once() -> None:
    run = spec(KILL)
    attempts = {"load": [running(at=T0)]}
    assert decide(run, seen(attempts=attempts), T0 + 29 * S) == []
    assert decide(run, seen(attempts=attempts), T0 + 30 * S) == [InjectFault("kill")]
    injected = {"kill": FaultObserved(("127.0.1.1",), injected_at=T0 + 30 * S)}
    assert decide(run, seen(attempts=attempts, faults=injected), T0 + 31 * S) == []


def test_a_node_fault_heals_after_down_for_and_the_run_waits_for_recovery() -> None:
    run = spec(KILL)
    load_done = {"load": [done(res=result("load"))]}
    injected = FaultObserved(("127.0.1.1",), injected_at=T0 + 30 * S)
    # load passed but the node is still down: nothing to start yet? "after" may start, no Finish
    actions = decide(run, seen(attempts=load_done, faults={"kill": injected}), T0 + 35 * S)
    assert actions == [StartSuite("after", 1)]
    both_done = {**load_done, "after": [done(res=result("after"))]}
    at = T0 + 40 * S
    assert decide(run, seen(attempts=both_done, faults={"kill": injected}), at) == [
        HealFault("kill")
    ]
    healed = FaultObserved(("127.0.1.1",), injected_at=T0 + 30 * S, healed_at=at)
    assert decide(run, seen(attempts=both_done, faults={"kill": healed}), at + S) == []
    status = aggregate_status(run, seen(attempts=both_done, faults={"kill": healed}), at + S)
    assert status.phase == "Running"
    assert status.faults[0].phase == "Healed"
    recovered = FaultObserved(healed.targets, healed.injected_at, at, recovered_at=at + 5 * S)
    final = seen(attempts=both_done, faults={"kill": recovered})
    actions = decide(run, final, at + 6 * S)
    assert actions == [
        TeardownCluster(),
        Finish("Succeeded", "AllSuitesPassed", "all 2 suites passed"),
    ]
    timeline = aggregate_status(run, final, at + 6 * S).faults[0]
    assert (timeline.phase, timeline.targets) == ("Recovered", ["127.0.1.1"])
    assert (timeline.injected_at, timeline.healed_at, timeline.recovered_at) == (
        T0 + 30 * S,
        at,
        at + 5 * S,
    )


def test_a_before_suite_fault_holds_the_suite_until_injected() -> None:
    run = spec(CUT)
    assert decide(run, seen(), T0) == [InjectFault("cut")]
    injected = {"cut": FaultObserved(("127.0.1.1",), injected_at=T0)}
    assert decide(run, seen(faults=injected), T0 + S) == [StartSuite("load", 1)]
    attempts = {"load": [running(at=T0 + S)]}
    assert decide(run, seen(attempts=attempts, faults=injected), T0 + 20 * S) == [HealFault("cut")]


def test_nodes_that_do_not_recover_fail_the_run_with_the_reason() -> None:
    run = spec(KILL)
    healed = FaultObserved(("127.0.1.1",), injected_at=T0, healed_at=T0 + 10 * S)
    attempts = {"load": [running(at=T0)]}
    state = seen(attempts=attempts, faults={"kill": healed})
    assert decide(run, state, T0 + 2 * 60 * S) == []
    late = T0 + 131 * S
    actions = decide(run, state, late)
    assert actions == [
        CancelSuite(
            "load",
            1,
            "fault kill failed: its nodes did not recover within expectRecoveryWithin 2m after "
            "the heal (127.0.1.1)",
        )
    ]
    stopped = {"load": [done("Cancelled", reason="fault kill failed")]}
    final = decide(run, seen(attempts=stopped, faults={"kill": healed}), late)
    finish = final[-1]
    assert isinstance(finish, Finish)
    assert (finish.phase, finish.reason) == ("Failed", "FaultFailed")
    assert "did not recover within expectRecoveryWithin 2m" in finish.message
    status = aggregate_status(run, seen(attempts=stopped, faults={"kill": healed}), late)
    assert status.faults[0].phase == "Failed"


def test_an_injection_error_fails_the_run_at_once() -> None:
    run = spec(KILL)
    broken = {"kill": FaultObserved(error="nft: Operation not permitted")}
    attempts = {"load": [running(at=T0)]}
    actions = decide(run, seen(attempts=attempts, faults=broken), T0 + 31 * S)
    assert [type(a).__name__ for a in actions] == ["CancelSuite"]
    assert "fault kill failed: nft: Operation not permitted" in actions[0].reason  # type: ignore[union-attr]


def test_a_suite_that_ends_before_the_trigger_fails_the_fault() -> None:
    run = spec(KILL)
    quick = {"load": [done(res=result("load"))], "after": [done(res=result("after"))]}
    finish = decide(run, seen(attempts=quick), T0 + 2 * 60 * S)[-1]
    assert isinstance(finish, Finish)
    assert finish.reason == "FaultFailed"
    assert "never injected: suite load ended (Passed) before afterSeconds 30" in finish.message


def test_a_kept_cluster_is_healed_before_the_finish() -> None:
    run = spec(KILL, timeout="1m")
    run = run.model_copy(update={"cluster": run.cluster.model_copy(update={"teardown": "Never"})})
    injected = {"kill": FaultObserved(("127.0.1.1",), injected_at=T0 + 30 * S)}
    stopped = {"load": [done("TimedOut", reason="run timeout")]}
    actions = decide(run, seen(attempts=stopped, faults=injected), T0 + 61 * S)
    assert actions[0] == HealFault("kill")
    assert isinstance(actions[-1], Finish)


def test_a_rolling_restart_has_a_deadline_per_node() -> None:
    roll = {
        "name": "roll",
        "action": "RollingRestart",
        "when": {"duringSuite": "load"},
        "expectRecoveryWithin": "1m",
    }
    run = spec(roll)
    attempts = {"load": [running(at=T0)]}
    three = FaultObserved(("a", "b", "c"), injected_at=T0)
    assert decide(run, seen(attempts=attempts, faults={"roll": three}), T0 + 179 * S) == []
    actions = decide(run, seen(attempts=attempts, faults={"roll": three}), T0 + 181 * S)
    assert "did not finish within 3m" in actions[0].reason  # type: ignore[union-attr]


def test_a_restarted_operator_sees_the_fault_timeline_again() -> None:
    run = spec(KILL)
    attempts = {"load": [running(at=T0)]}
    injected = {"kill": FaultObserved(("127.0.1.1",), injected_at=T0 + 30 * S)}
    status = aggregate_status(run, seen(attempts=attempts, faults=injected), T0 + 31 * S)
    rebuilt = observed_from_world(
        run, run="r", status=status, jobs=[], pods=[], created_at=T0, now=T0 + 32 * S
    )
    assert rebuilt.faults == injected


def test_faults_wait_pending_while_the_cluster_provisions() -> None:
    run = spec(CUT)
    provisioning = seen(cluster="Provisioning")
    assert decide(run, provisioning, T0) == []
    [fault] = aggregate_status(run, provisioning, T0).faults
    assert (fault.phase, fault.reason) == ("Pending", "waiting for the cluster")


def test_a_fault_that_can_no_longer_happen_says_why_after_the_teardown() -> None:
    run = spec(KILL)
    quick = {"load": [done(res=result("load"))], "after": [done(res=result("after"))]}
    for cluster in ("Failed", "Absent"):
        gone = seen(attempts=quick, cluster=cluster)
        [fault] = aggregate_status(run, gone, T0 + 2 * 60 * S).faults
        assert fault.reason is not None
        assert fault.reason.startswith(("never injected", "not injected")), fault.reason


def test_a_fault_says_when_the_clock_makes_it_due() -> None:
    run = spec(KILL)
    attempts = {"load": [running(at=T0)]}
    assert evaluate(run, seen(attempts=attempts), T0 + 3 * S).due == T0 + 30 * S
    injected = {"kill": FaultObserved(("127.0.1.1",), injected_at=T0 + 31 * S)}
    after = evaluate(run, seen(attempts=attempts, faults=injected), T0 + 32 * S)
    assert after.due == T0 + 31 * S + hold(run.faults[0])
    assert evaluate(run, seen(), T0).due is None  # nothing running: only events move it


def test_the_run_says_when_its_readiness_or_run_timeout_falls_due() -> None:
    run = make_spec(
        [{"name": "load", "timeout": "1m"}, {"name": "soak", "timeout": "20m"}],
        cluster={"datacenters": [{"name": "dc1", "size": 3}], "readyTimeout": "2m"},
        timeout="10m",
        parallelism=1,
    )
    assert evaluate(run, seen(cluster="Provisioning"), T0 + S).due == T0 + 120 * S
    attempts = {"load": [running(at=T0 + 5 * S)]}
    ready = evaluate(run, seen(attempts=attempts), T0 + 6 * S)
    assert ready.due == T0 + 65 * S  # the suite's timeout comes first
    soaking = {"load": [done()], "soak": [running(at=T0 + 70 * S)]}
    long = evaluate(run, seen(attempts=soaking), T0 + 71 * S)
    assert long.due == T0 + 600 * S  # the run's timeout comes before the suite's
    over = evaluate(run, seen(attempts=soaking), T0 + 601 * S)
    assert over.stop is not None
    assert over.due == T0 + 70 * S + 20 * 60 * S  # stopped: the past deadline is no moment


def test_a_fault_whose_recovery_is_awaited_falls_due_when_it_is_overdue() -> None:
    run = spec(KILL, {**KILL, "name": "roll", "action": "RollingRestart"})
    limit = run.faults[0].expect_recovery_within
    assert limit < timedelta(minutes=10) < run.suites[0].timeout
    attempts = {"load": [running(at=T0)]}
    nodes = ("127.0.1.1", "127.0.1.2", "127.0.1.3")
    healed = {"kill": FaultObserved(nodes[:1], injected_at=T0 + 30 * S, healed_at=T0 + 40 * S)}
    view = evaluate(run, seen(attempts=attempts, faults=healed), T0 + 41 * S).faults["kill"]
    assert (view.phase, view.due) == ("Healed", T0 + 40 * S + limit)
    rolling = {"roll": FaultObserved(nodes, injected_at=T0 + 30 * S)}
    view = evaluate(run, seen(attempts=attempts, faults=rolling), T0 + 31 * S).faults["roll"]
    assert (view.phase, view.due) == ("Injected", T0 + 30 * S + 3 * limit)

"""Properties of decide() over random dependency graphs and random attempt outcomes.

Every simulated run, whatever its graph, cap, retries, timeouts and outcomes:
no suite starts before all its dependencies Passed; the parallelism cap is never exceeded;
deciding twice on one observation gives the same actions and never re-starts an attempt that
exists; and the run terminates with every suite in a final phase.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cqltest.engine import Action, CancelSuite, Observed, StartSuite, decide, evaluate
from engine_sim import Script, Simulation, make_spec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

OUTCOMES = st.sampled_from(["Succeeded", "Succeeded", "Failed", "Error", "Hang"])


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Any, dict[str, list[Script]], bool, bool]:
    count = draw(st.integers(min_value=1, max_value=7))
    names = [f"s{i}" for i in range(count)]
    suites = []
    for i, name in enumerate(names):
        deps = draw(st.lists(st.sampled_from(names[:i]), unique=True, max_size=3)) if i else []
        suites.append(
            {
                "name": name,
                "dependsOn": deps,
                "retries": draw(st.integers(min_value=0, max_value=2)),
                "timeout": f"{draw(st.integers(min_value=1, max_value=4))}m",
            }
        )
    run_timeout = draw(st.one_of(st.none(), st.integers(min_value=1, max_value=20)))
    spec = make_spec(
        suites,
        parallelism=draw(st.integers(min_value=1, max_value=3)),
        failFast=draw(st.booleans()),
        timeout=None if run_timeout is None else f"{run_timeout}m",
    )
    scripts = {
        name: [
            Script(draw(OUTCOMES), draw(st.integers(min_value=1, max_value=3))) for _ in range(3)
        ]
        for name in names
    }
    return spec, scripts, draw(st.booleans()), draw(st.booleans())


def _check_decision(spec: Any, obs: Observed, now: datetime, actions: list[Action]) -> None:
    again = decide(spec, obs, now)
    assert again == actions, "deciding twice on one observation must give the same actions"
    views = evaluate(spec, obs, now).suites
    existing = {(n, a.attempt) for n, attempts in obs.attempts.items() for a in attempts}
    starts = [a for a in actions if isinstance(a, StartSuite)]
    for start in starts:
        assert (start.name, start.attempt) not in existing, f"{start} already exists"
        for dep in views[start.name].spec.depends_on:
            assert views[dep].phase == "Passed", f"{start.name} started before {dep} Passed"
    assert len({s.name for s in starts}) == len(starts), "one suite started twice at once"
    running = sum(1 for v in views.values() if v.running is not None)
    assert running + len(starts) <= spec.parallelism, "parallelism cap exceeded"
    for cancel in (a for a in actions if isinstance(a, CancelSuite)):
        assert (cancel.name, cancel.attempt) in existing


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(scenarios())
def test_simulated_runs_respect_the_invariants_and_terminate(
    scenario: tuple[Any, dict[str, list[Script]], bool, bool],
) -> None:
    spec, scripts, cluster_fails, interrupt = scenario
    sim = Simulation(spec, scripts=scripts, cluster_fails=cluster_fails, on_decide=None)
    sim.on_decide = lambda obs, now, actions: _check_decision(spec, obs, now, actions)
    if interrupt:
        for _ in range(4):
            if sim.finish is None:
                sim.step()
        sim.interrupted = True
    finish = sim.run(max_steps=400)
    views = evaluate(spec, sim.observe(), sim.now).suites
    assert all(v.final for v in views.values()), views
    passed = all(v.phase == "Passed" for v in views.values())
    assert (finish.phase == "Succeeded") is passed
    if cluster_fails:
        assert finish.phase == "Error"
    for name, attempts in sim.attempts.items():
        spec_suite = views[name].spec
        assert len(attempts) <= spec_suite.retries + 1
        assert sorted(a.attempt for a in attempts) == list(range(1, len(attempts) + 1))
    skipped_by_dependency = [
        v for v in views.values() if v.phase == "Skipped" and v.blocked_by is not None
    ]
    for view in skipped_by_dependency:
        root = views[view.blocked_by[0]]  # type: ignore[index]
        assert root.phase not in ("Passed", "Skipped", "Pending", "Running")

"""Waves from dependsOn (Kahn levels) and the graph checks."""

from __future__ import annotations

import pytest
from cqltest.errors import ManifestError
from cqltest.plan import dependency_problems, plan_waves, waves_of
from engine_sim import make_spec
from hypothesis import given, settings
from hypothesis import strategies as st


def edges(**deps: list[str]) -> list[tuple[str, list[str]]]:
    return list(deps.items())


def test_independent_suites_share_wave_one_in_spec_order() -> None:
    assert waves_of(edges(c=[], a=[], b=[])) == [["c", "a", "b"]]


def test_diamond() -> None:
    assert waves_of(edges(a=[], b=["a"], c=["a"], d=["b", "c"])) == [["a"], ["b", "c"], ["d"]]


def test_a_suite_lands_one_wave_after_its_deepest_dependency() -> None:
    got = waves_of(edges(a=[], b=["a"], c=["b"], d=["a", "c"], e=[]))
    assert got == [["a", "e"], ["b"], ["c"], ["d"]]


def test_plan_waves_of_a_spec() -> None:
    spec = make_spec([{"name": "x"}, {"name": "y", "dependsOn": ["x"]}])
    assert plan_waves(spec) == [["x"], ["y"]]


def test_plan_waves_raises_naming_every_problem() -> None:
    spec = make_spec(
        [{"name": "a", "dependsOn": ["b"]}, {"name": "b", "dependsOn": ["a", "ghost"]}]
    )
    with pytest.raises(ManifestError) as info:
        plan_waves(spec)
    assert [(p.path, p.message) for p in info.value.problems] == [
        (
            "spec.suites[1].dependsOn[1]",
            'suite "b" depends on "ghost", which is not a suite of this TestRun (suites: "a", "b")',
        ),
        ("spec.suites[0].dependsOn[0]", "dependency cycle: a -> b -> a"),
    ]


def test_empty() -> None:
    (problem,) = dependency_problems([])
    assert (problem.path, problem.message) == ("spec.suites", "at least one suite is required")


def test_cycles_are_named_from_the_first_member_in_spec_order() -> None:
    found = dependency_problems(edges(x=[], b=["c"], c=["d"], d=["b"]))
    assert [(p.path, p.value, p.message) for p in found] == [
        ("spec.suites[1].dependsOn[0]", "c", "dependency cycle: b -> c -> d -> b")
    ]


def test_two_separate_cycles_are_both_reported() -> None:
    found = dependency_problems(edges(a=["b"], b=["a"], c=["d"], d=["c"]))
    assert [p.message for p in found] == [
        "dependency cycle: a -> b -> a",
        "dependency cycle: c -> d -> c",
    ]


def test_self_dependency() -> None:
    (problem,) = dependency_problems(edges(a=["a"]))
    assert problem.message == "a suite cannot depend on itself: a -> a"


def test_duplicates_use_the_first_definition_for_the_graph() -> None:
    found = dependency_problems([("a", []), ("b", ["a"]), ("a", ["b"])])
    assert [p.message for p in found] == [
        'duplicate suite name "a" (also spec.suites[0].name); suite names must be unique'
    ]


def test_waves_of_rejects_a_cyclic_graph() -> None:
    with pytest.raises(ValueError, match="acyclic"):
        waves_of(edges(a=["b"], b=["a"]))


@st.composite
def dags(draw: st.DrawFn) -> list[tuple[str, list[str]]]:
    count = draw(st.integers(min_value=1, max_value=12))
    names = [f"s{i}" for i in draw(st.permutations(range(count)))]
    return [
        (name, draw(st.lists(st.sampled_from(names[:i]), unique=True)) if i else [])
        for i, name in enumerate(names)
    ]


@settings(max_examples=200, deadline=None)
@given(dags())
def test_waves_are_kahn_levels(graph: list[tuple[str, list[str]]]) -> None:
    assert dependency_problems(graph) == []
    waves = waves_of(graph)
    level = {n: i for i, wave in enumerate(waves) for n in wave}
    assert sorted(level) == sorted(n for n, _ in graph)
    for name, deps in graph:
        assert all(level[d] < level[name] for d in deps)
        if level[name] > 0:
            assert any(level[d] == level[name] - 1 for d in deps)
    order = [n for n, _ in graph]
    for wave in waves:
        assert wave == sorted(wave, key=order.index)


@settings(max_examples=100, deadline=None)
@given(dags(), st.data())
def test_adding_a_back_edge_makes_a_cycle(
    graph: list[tuple[str, list[str]]], data: st.DataObject
) -> None:
    deep = [(n, d) for n, d in graph if d]
    if not deep:
        return
    name, deps = data.draw(st.sampled_from(deep))
    dep = data.draw(st.sampled_from(deps))
    changed = [(n, [*d, name] if n == dep else d) for n, d in graph]
    messages = [p.message for p in dependency_problems(changed)]
    assert any(m.startswith(("dependency cycle", "a suite cannot")) for m in messages)

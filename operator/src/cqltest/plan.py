"""Dependency waves: which suites may run together, from their ``dependsOn`` lists.

A wave is a Kahn level: wave 1 holds the suites without dependencies, wave n+1 the suites whose
deepest dependency is in wave n. Waves are for people (status, ``cqltest plan``) and for ordering;
the engine starts a suite as soon as all its own dependencies passed. The graph checks (empty
list, duplicate names, unknown dependencies, cycles) live here and nowhere else so the CLI,
the local backend and the operator report the same messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from cqltest.errors import ManifestError, Problem


class SuiteLike(Protocol):
    """What planning needs of a suite entry (``cqltest.model.SuiteSpec`` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def depends_on(self) -> Sequence[str]: ...


class SpecLike(Protocol):
    """What planning needs of a TestRun spec (``cqltest.model.TestRunSpec`` is one)."""

    @property
    def suites(self) -> Sequence[SuiteLike]: ...


Edges = Sequence[tuple[str, Sequence[str]]]


def _path(index: int, dep_index: int | None = None) -> str:
    base = f"spec.suites[{index}]"
    return f"{base}.name" if dep_index is None else f"{base}.dependsOn[{dep_index}]"


def _quote_all(names: Sequence[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def dependency_problems(edges: Edges) -> list[Problem]:
    """Every graph problem of the suites given as (name, dependsOn) pairs, in spec order."""
    if not edges:
        return [Problem("spec.suites", [], "at least one suite is required")]
    problems: list[Problem] = []
    first_index: dict[str, int] = {}
    for index, (name, _) in enumerate(edges):
        if name in first_index:
            problems.append(
                Problem(
                    _path(index),
                    name,
                    f'duplicate suite name "{name}" (also {_path(first_index[name])}); '
                    "suite names must be unique",
                )
            )
        else:
            first_index[name] = index
    for index, (name, deps) in enumerate(edges):
        seen: set[str] = set()
        for dep_index, dep in enumerate(deps):
            if dep in seen:
                problems.append(
                    Problem(_path(index, dep_index), dep, f'"{dep}" is listed twice in dependsOn')
                )
            seen.add(dep)
            if dep not in first_index:
                problems.append(
                    Problem(
                        _path(index, dep_index),
                        dep,
                        f'suite "{name}" depends on "{dep}", which is not a suite of this '
                        f"TestRun (suites: {_quote_all(list(first_index))})",
                    )
                )
    problems.extend(_cycle_problems(edges, first_index))
    return problems


def _cycle_problems(edges: Edges, first_index: dict[str, int]) -> list[Problem]:
    """One problem per distinct cycle, its members listed in dependency order."""
    graph = {name: [d for d in edges[i][1] if d in first_index] for name, i in first_index.items()}
    cycles: list[list[str]] = []
    seen_cycles: set[tuple[str, ...]] = set()
    done: set[str] = set()

    def visit(node: str, stack: list[str], on_stack: set[str]) -> None:
        stack.append(node)
        on_stack.add(node)
        for dep in graph.get(node, []):
            if dep in on_stack:
                cycle = stack[stack.index(dep) :]
                start = min(range(len(cycle)), key=lambda i: first_index[cycle[i]])
                canonical = tuple(cycle[start:] + cycle[:start])
                if canonical not in seen_cycles:
                    seen_cycles.add(canonical)
                    cycles.append(list(canonical))
            elif dep not in done:
                visit(dep, stack, on_stack)
        stack.pop()
        on_stack.discard(node)
        done.add(node)

    for name, _ in edges:
        if name not in done:
            visit(name, [], set())
    problems = []
    for cycle in cycles:
        head, successor = cycle[0], cycle[1 % len(cycle)]
        index = first_index[head]
        dep_index = list(edges[index][1]).index(successor)
        chain = " -> ".join([*cycle, head])
        what = "a suite cannot depend on itself" if len(cycle) == 1 else "dependency cycle"
        problems.append(Problem(_path(index, dep_index), successor, f"{what}: {chain}"))
    return problems


def waves_of(edges: Edges) -> list[list[str]]:
    """Kahn levels of a valid graph; within a wave, suites keep their spec order."""
    deps = {name: list(d) for name, d in edges}
    level: dict[str, int] = {}
    remaining = [name for name, _ in edges]
    while remaining:
        ready = [n for n in remaining if all(d in level for d in deps[n])]
        if not ready:
            raise ValueError("waves_of needs an acyclic graph; call dependency_problems first")
        for name in ready:
            level[name] = 1 + max((level[d] for d in deps[name]), default=0)
        remaining = [n for n in remaining if n not in level]
    waves: list[list[str]] = [[] for _ in range(max(level.values(), default=0))]
    for name, _ in edges:
        waves[level[name] - 1].append(name)
    return waves


def plan_waves(spec: SpecLike) -> list[list[str]]:
    """The waves of a spec; raises ManifestError naming every graph problem."""
    edges = [(s.name, list(s.depends_on)) for s in spec.suites]
    problems = dependency_problems(edges)
    if problems:
        raise ManifestError(problems)
    return waves_of(edges)

"""The semantic checks of ``spec.faults[]``: rules a JSON schema cannot express.

A fault must name a suite of the run, a target the topology has, two partition sides that do
not share a node, and may only break an existing cluster when the manifest says so. Each
problem names the field (``spec.faults[1].target.node``) like the rest of validation; entries
the schema already rejects are skipped here so each mistake is reported once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from cqltest.errors import Problem
from cqltest.model.faults import FaultSpec, Shape, group_nodes, target_nodes


def _shape(cluster: object) -> Shape | None:
    """The cluster's datacenters as (name, size, racks), or None when they are not all valid."""
    dcs = cluster.get("datacenters") if isinstance(cluster, Mapping) else None
    if not isinstance(dcs, list) or not dcs:
        return None
    shape: Shape = []
    for dc in dcs:
        if not isinstance(dc, Mapping):
            return None
        name, size, racks = dc.get("name"), dc.get("size"), dc.get("racks") or []
        if not isinstance(name, str) or not isinstance(size, int) or not isinstance(racks, list):
            return None
        shape.append((name, size, [str(r) for r in racks]))
    return shape


def fault_problems(spec: Mapping[str, Any]) -> list[Problem]:
    """Every semantic problem of ``spec.faults`` in a raw spec."""
    faults = spec.get("faults")
    if not isinstance(faults, list) or not faults:
        return []
    cluster = spec.get("cluster")
    problems: list[Problem] = []
    existing = isinstance(cluster, Mapping) and cluster.get("existing") is not None
    if existing and spec.get("allowFaultsOnExisting") is not True:
        problems.append(
            Problem(
                "spec.faults",
                f"{len(faults)} fault(s)",
                "faults would break an existing cluster that others may use; set "
                "spec.allowFaultsOnExisting: true to allow them, or provision a cluster",
            )
        )
    suites = spec.get("suites")
    names = (
        {s.get("name") for s in suites if isinstance(s, Mapping)}
        if isinstance(suites, list)
        else set()
    )
    shape = _shape(cluster)
    seen: dict[str, int] = {}
    for index, raw in enumerate(faults):
        try:
            fault = FaultSpec.model_validate(raw)
        except ValidationError:
            continue  # the schema check reports it
        path = f"spec.faults[{index}]"
        if fault.name in seen:
            problems.append(
                Problem(
                    f"{path}.name",
                    fault.name,
                    f'duplicate fault name "{fault.name}" '
                    f"(also spec.faults[{seen[fault.name]}].name)",
                )
            )
        seen.setdefault(fault.name, index)
        problems += _when_problems(path, fault, names)
        problems += _target_problems(path, fault, shape)
    return problems


def _when_problems(path: str, fault: FaultSpec, suites: set[Any]) -> list[Problem]:
    when = fault.when
    if (when.during_suite is None) == (when.before_suite is None):
        return [
            Problem(
                f"{path}.when",
                when.model_dump(by_alias=True, exclude_defaults=True),
                "give exactly one of duringSuite (with afterSeconds) and beforeSuite",
            )
        ]
    if when.before_suite is not None and when.after_seconds:
        return [
            Problem(
                f"{path}.when.afterSeconds",
                when.after_seconds,
                "afterSeconds only applies to duringSuite",
            )
        ]
    field, suite = (
        ("duringSuite", when.during_suite)
        if when.during_suite is not None
        else ("beforeSuite", when.before_suite)
    )
    if suite not in suites:
        listed = ", ".join(sorted(str(s) for s in suites)) or "none"
        return [
            Problem(
                f"{path}.when.{field}",
                suite,
                f'unknown suite "{suite}": it must name a suite of this TestRun ({listed})',
            )
        ]
    return []


def _target_problems(path: str, fault: FaultSpec, shape: Shape | None) -> list[Problem]:
    if fault.action == "Partition":
        if fault.target is not None:
            return [Problem(f"{path}.target", None, "a Partition takes between, not target")]
        if fault.between is None:
            return [Problem(f"{path}.between", None, "a Partition needs between: [groupA, groupB]")]
        if shape is None:
            return []
        sides = []
        for side, group in enumerate(fault.between):
            try:
                sides.append(group_nodes(shape, group))
            except ValueError as exc:
                dumped = group.model_dump(by_alias=True, exclude_none=True)
                return [Problem(f"{path}.between[{side}]", dumped, str(exc))]
        shared = sorted(set(sides[0]) & set(sides[1]))
        if shared:
            dc, n = shared[0]
            return [
                Problem(
                    f"{path}.between",
                    None,
                    f"node {n} of datacenter {dc!r} is on both sides: a node cannot be "
                    "partitioned from itself",
                )
            ]
        return []
    if fault.between is not None:
        return [
            Problem(
                f"{path}.between", None, f"between only applies to a Partition, not {fault.action}"
            )
        ]
    if shape is None:
        return []
    try:
        target_nodes(shape, fault.action, fault.target)
    except ValueError as exc:
        target = fault.target
        field = "target"
        if target is not None:
            field += ".node" if target.node is not None else ".count" if target.count else ""
        value = target.model_dump(by_alias=True, exclude_none=True) if target else None
        return [Problem(f"{path}.{field}", value, f"the topology has no such target: {exc}")]
    return []

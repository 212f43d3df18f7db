"""``spec.faults[]``: each mistake named by its field, and the targets the topology resolves."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from cqltest.errors import ManifestError
from cqltest.model import FaultTarget, PartitionGroup, parse_testrun
from cqltest.model.faults import group_nodes, target_nodes

KNOWN = {"smoke", "resilience"}
SHAPE = [("dc1", 3, ["r1", "r2"]), ("dc2", 2, [])]


def manifest(*faults: dict[str, Any], **spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "apiVersion": "cqltest.dev/v1alpha1",
        "kind": "TestRun",
        "metadata": {"name": "run"},
        "spec": {
            "cluster": {
                "datacenters": [
                    {"name": "dc1", "size": 3, "racks": ["r1", "r2"]},
                    {"name": "dc2", "size": 2},
                ]
            },
            "suites": [{"name": "load", "suite": "resilience"}, {"name": "smoke"}],
            "faults": list(faults),
        },
    }
    base["spec"].update(copy.deepcopy(spec))
    return base


def kill(**fields: Any) -> dict[str, Any]:
    return {"name": "kill", "action": "NodeKill", "when": {"duringSuite": "load"}, **fields}


def problems(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ManifestError) as info:
        parse_testrun(data, known_suites=KNOWN)
    return {p.path: p.message for p in info.value.problems}


def test_a_valid_fault_parses_with_its_defaults() -> None:
    run = parse_testrun(manifest(kill(target={"datacenter": "dc2"})), known_suites=KNOWN)
    fault = run.spec.faults[0]
    assert (fault.down_for.total_seconds(), fault.expect_recovery_within.total_seconds()) == (
        10,
        120,
    )
    assert fault.target == FaultTarget(datacenter="dc2")


@pytest.mark.parametrize(
    ("fault", "path", "words"),
    [
        (
            kill(when={"duringSuite": "nope"}),
            "spec.faults[0].when.duringSuite",
            'unknown suite "nope"',
        ),
        (kill(when={"beforeSuite": "ghost"}), "spec.faults[0].when.beforeSuite", "unknown suite"),
        (kill(when={}), "spec.faults[0].when", "exactly one of duringSuite"),
        (
            kill(when={"beforeSuite": "load", "afterSeconds": 5}),
            "spec.faults[0].when.afterSeconds",
            "only applies to duringSuite",
        ),
        (kill(target={"datacenter": "dc9"}), "spec.faults[0].target", "no node is in datacenter"),
        (
            kill(target={"datacenter": "dc2", "node": 2}),
            "spec.faults[0].target.node",
            "indices 0..1",
        ),
        (kill(target={"rack": "r9"}), "spec.faults[0].target", "rack 'r9'"),
        (kill(target={"count": 6}), "spec.faults[0].target.count", "count 6 exceeds the 5"),
        (
            {
                "name": "cut",
                "action": "Partition",
                "when": {"duringSuite": "load"},
                "between": [{"datacenter": "dc1"}, {"datacenter": "dc1", "nodes": [1]}],
            },
            "spec.faults[0].between",
            "cannot be partitioned from itself",
        ),
        (
            {"name": "cut", "action": "Partition", "when": {"duringSuite": "load"}},
            "spec.faults[0].between",
            "needs between",
        ),
        (
            {
                "name": "cut",
                "action": "Partition",
                "when": {"duringSuite": "load"},
                "between": [{"datacenter": "dc1"}, {"nodes": [7]}],
            },
            "spec.faults[0].between[1]",
            "node 7 does not exist",
        ),
        (
            kill(between=[{"datacenter": "dc1"}, {"datacenter": "dc2"}]),
            "spec.faults[0].between",
            "only applies to a Partition",
        ),
        (kill(action="NodeExplode"), "spec.faults[0].action", "'NodeExplode' is not one of"),
        (kill(downFor="soon"), "spec.faults[0].downFor", "is not a duration"),
    ],
)
def test_each_mistake_names_its_field(fault: dict[str, Any], path: str, words: str) -> None:
    found = problems(manifest(fault))
    assert path in found, found
    assert words in found[path]


def test_duplicate_fault_names_are_refused() -> None:
    found = problems(manifest(kill(), kill()))
    assert "duplicate fault name" in found["spec.faults[1].name"]


def test_faults_on_an_existing_cluster_need_the_opt_in() -> None:
    cluster = {
        "existing": {"contactPoints": ["127.0.0.1"], "localDatacenter": "dc1"},
        "datacenters": [{"name": "dc1", "size": 3}],
    }
    found = problems(manifest(kill(), cluster=cluster))
    assert "allowFaultsOnExisting" in found["spec.faults"]
    run = parse_testrun(
        manifest(kill(), cluster=cluster, allowFaultsOnExisting=True), known_suites=KNOWN
    )
    assert run.spec.allow_faults_on_existing


def test_targets_resolve_over_datacenters_and_round_robin_racks() -> None:
    assert target_nodes(SHAPE, "NodeKill", None) == [("dc1", 0)]
    assert target_nodes(SHAPE, "RollingRestart", None) == [
        ("dc1", 0),
        ("dc1", 1),
        ("dc1", 2),
        ("dc2", 0),
        ("dc2", 1),
    ]
    assert target_nodes(SHAPE, "NodeStop", FaultTarget(rack="r1", count=2)) == [
        ("dc1", 0),
        ("dc1", 2),
    ]
    assert target_nodes(SHAPE, "NodeKill", FaultTarget(datacenter="dc2", node=1)) == [("dc2", 1)]
    assert group_nodes(SHAPE, PartitionGroup(nodes=[0, 4])) == [("dc1", 0), ("dc2", 1)]
    assert group_nodes(SHAPE, PartitionGroup(datacenter="dc2")) == [("dc2", 0), ("dc2", 1)]

"""The CRD generated from the model: structural, complete, and identical to the checked-in one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from cqltest.render.crd import render_crd, render_crd_yaml, structural

ROOT = Path(__file__).resolve().parents[2]
CHECKED_IN = ROOT / "manifests" / "crds" / "testruns.cqltest.dev.yaml"


def walk(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        found.append((path, node))
        for key, child in node.get("properties", {}).items():
            found += walk(child, f"{path}.{key}")
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                found += walk(node[key], f"{path}[{key}]")
    return found


SCHEMA = render_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
NODES = walk(SCHEMA)


def test_the_checked_in_crd_matches_the_model() -> None:
    assert CHECKED_IN.read_text() == render_crd_yaml(), (
        "manifests/crds is stale: run `cqltest crd > manifests/crds/testruns.cqltest.dev.yaml`"
    )


def test_names_and_subresources() -> None:
    crd = render_crd()
    assert crd["metadata"]["name"] == "testruns.cqltest.dev"
    names = crd["spec"]["names"]
    assert (names["kind"], names["plural"], names["shortNames"]) == ("TestRun", "testruns", ["tr"])
    version = crd["spec"]["versions"][0]
    assert version["name"] == "v1alpha1"
    assert version["subresources"] == {"status": {}}
    assert crd["spec"]["scope"] == "Namespaced"


def test_printer_columns() -> None:
    columns = {
        c["name"]: c["jsonPath"]
        for c in render_crd()["spec"]["versions"][0]["additionalPrinterColumns"]
    }
    assert columns == {
        "Phase": ".status.phase",
        "Suites": ".status.summary.progress",
        "Failed-Tests": ".status.summary.tests.failed",
        "Cluster": ".status.cluster.state",
        "Duration": ".status.duration",
        "Age": ".metadata.creationTimestamp",
        "Message": ".status.message",
    }


@pytest.mark.parametrize("key", ["$ref", "$defs", "anyOf", "oneOf", "allOf", "title", "const"])
def test_the_schema_is_structural(key: str) -> None:
    assert [path for path, node in NODES if key in node] == []


def test_every_node_has_a_type() -> None:
    assert [path for path, node in NODES if "type" not in node] == []


def test_no_additional_properties_false() -> None:
    assert [p for p, n in NODES if n.get("additionalProperties") is False] == []


def test_preserve_unknown_fields_only_where_free_form() -> None:
    preserved = [p for p, n in NODES if n.get("x-kubernetes-preserve-unknown-fields")]
    assert preserved == [".spec.suites[items].params", ".status.kopf"]


def test_defaults_are_scalars_with_wire_values() -> None:
    defaults = {p: n["default"] for p, n in NODES if "default" in n}
    assert all(isinstance(v, (bool, int, str)) for v in defaults.values())
    assert defaults[".spec.cluster.readyTimeout"] == "30m"
    # a built-in suite's timeout defaults to its suite.yaml, applied by validation, not the CRD
    assert ".spec.suites[items].timeout" not in defaults
    assert defaults[".spec.cluster.teardown"] == "Always"
    assert defaults[".spec.parallelism"] == 1
    assert not any(p.startswith(".status") for p in defaults)


def test_durations_are_pattern_validated_strings() -> None:
    node = dict(NODES)[".spec.timeout"]
    assert node["type"] == "string"
    assert node["pattern"].startswith("^(")


def test_enums_and_numbers() -> None:
    nodes = dict(NODES)
    assert nodes[".spec.cluster.teardown"]["enum"] == ["Always", "OnSuccess", "Never"]
    assert nodes[".spec.parallelism"]["type"] == "integer"
    assert nodes[".spec.suites[items].thresholds.errorRate"]["type"] == "number"
    assert "Invalid" in nodes[".status.phase"]["enum"]


def test_lists_that_feed_cel_are_bounded() -> None:
    nodes = dict(NODES)
    for path in (".spec.suites", ".spec.suites[items].dependsOn", ".spec.cluster.datacenters"):
        assert "maxItems" in nodes[path], path


def test_list_types() -> None:
    nodes = dict(NODES)
    assert nodes[".spec.suites"]["x-kubernetes-list-type"] == "map"
    assert nodes[".spec.suites"]["x-kubernetes-list-map-keys"] == ["name"]
    assert nodes[".spec.suites[items].dependsOn"]["x-kubernetes-list-type"] == "set"
    assert nodes[".status.conditions"]["x-kubernetes-list-map-keys"] == ["type"]


def test_cel_rules_are_attached_with_field_paths() -> None:
    nodes = dict(NODES)
    rules = {
        path: [(v["rule"], v.get("fieldPath")) for v in node.get("x-kubernetes-validations", [])]
        for path, node in NODES
        if node.get("x-kubernetes-validations")
    }
    assert set(rules) == {
        ".spec",
        ".spec.cluster",
        ".spec.cluster.datacenters[items]",
        ".spec.cluster.existing",
        ".spec.cluster.existing.passwordFrom",
        ".spec.suites[items]",
    }
    assert any("self.suites.exists(t, t.name == d)" in r for r, _ in rules[".spec"])
    assert (
        "!has(self.replicationFactor) || self.replicationFactor <= self.size",
        ".replicationFactor",
    ) in rules[".spec.cluster.datacenters[items]"]
    assert nodes[".spec.parallelism"]["minimum"] == 1


def test_the_spec_is_immutable_once_created() -> None:
    rules = dict(NODES)[".spec"]["x-kubernetes-validations"]
    transition = [r for r in rules if "oldSelf" in r["rule"]]
    assert transition == [
        {
            "rule": "self == oldSelf",
            "message": "spec is immutable: create a new TestRun "
            "(e.g. with a new name) to change it",
        }
    ]
    # the model's own rules stay (validate repeats them); the transition rule is the CRD's alone
    assert len(rules) > 1


def test_every_column_is_shown_by_default() -> None:
    columns = render_crd()["spec"]["versions"][0]["additionalPrinterColumns"]
    assert [c["name"] for c in columns if c.get("priority", 0) == 0] == [
        "Phase",
        "Suites",
        "Failed-Tests",
        "Cluster",
        "Duration",
        "Age",
        "Message",
    ]


def test_optional_fields_are_not_required() -> None:
    nodes = dict(NODES)
    assert nodes[".status.suites[items].thresholds[items]"]["required"] == ["metric", "limit", "ok"]
    assert nodes[".spec"]["required"] == ["cluster", "suites"]


def test_unions_of_several_types_are_refused() -> None:
    with pytest.raises(ValueError, match="cannot express a union of 2 types"):
        structural({"anyOf": [{"type": "string"}, {"type": "integer"}]})


def test_yaml_is_parseable_and_has_a_header() -> None:
    text = render_crd_yaml()
    assert text.startswith("# Generated by `cqltest crd`")
    assert yaml.safe_load(text) == render_crd()
    assert "&id" not in text

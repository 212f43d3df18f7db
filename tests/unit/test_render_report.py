"""The report ConfigMap: every attempt's full report plus JUnit, capped, with the cut said."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from cqltest.render.pods import Owner
from cqltest.render.report import (
    JUNIT_KEY,
    TRUNCATED_KEY,
    render_report,
    report_key,
    report_results,
)
from engine_sim import Script, Simulation, make_spec

OWNER = Owner(name="nightly", namespace="qa", uid="uid-1")
CASES = "".join(f'<testcase classname="t" name="test_{i}" time="0.1"/>' for i in range(3))
JUNIT = f'<testsuites><testsuite name="pytest" tests="3">{CASES}</testsuite></testsuites>'


def report(suite: str, attempt: int = 1, outcome: str = "passed", **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "suite": suite,
        "attempt": attempt,
        "outcome": outcome,
        "tests": {"total": 3, "passed": 3 if outcome == "passed" else 2},
        "failures": [],
        "metrics": {"operations": 10},
        "junitXml": JUNIT,
    }
    doc.update(extra)
    return doc


def status() -> Any:
    spec = make_spec([{"name": "a", "retries": 1}, {"name": "b"}])
    sim = Simulation(spec, scripts={"a": [Script("Failed"), Script("Succeeded")]})
    sim.run()
    return sim.status


def test_the_configmap_is_named_owned_and_labelled() -> None:
    cm = render_report(OWNER, [report("a")])
    assert (cm["apiVersion"], cm["kind"]) == ("v1", "ConfigMap")
    meta = cm["metadata"]
    assert (meta["name"], meta["namespace"]) == ("nightly-report", "qa")
    assert meta["ownerReferences"][0]["uid"] == "uid-1"
    assert meta["labels"]["cqltest.dev/testrun"] == "nightly"
    assert meta["labels"]["cqltest.dev/component"] == "report"


def test_every_attempt_is_kept_with_junit_of_the_latest() -> None:
    reports = [report("a", 1, "failed"), report("a", 2), report("b")]
    cm = render_report(OWNER, reports, status=status())
    data = cm["data"]
    assert set(data) == {"a.a1.json", "a.a2.json", "b.a1.json", JUNIT_KEY}
    assert json.loads(data["a.a2.json"]) == report("a", 2)
    root = ET.fromstring(data[JUNIT_KEY].split("\n", 1)[1])
    assert [s.get("name") for s in root] == ["a", "b"]
    assert len(root[0].findall("testcase")) == 3
    assert TRUNCATED_KEY not in data


def test_reports_without_suite_or_attempt_are_ignored() -> None:
    cm = render_report(OWNER, [{"suite": "a"}, {"attempt": 1}, report("b", attempt=0)])
    assert cm["data"] == {}


def test_results_come_back_from_the_data() -> None:
    data = render_report(OWNER, [report("a", 1, "failed"), report("a", 2)])["data"]
    data["junk.json"] = "{not json"
    results = report_results(data)
    assert list(results) == ["a"]
    assert (results["a"].attempt, results["a"].outcome) == (2, "passed")
    assert results["a"].junit_xml == JUNIT


def test_over_the_cap_the_xml_inside_reports_goes_first() -> None:
    reports = [report("a", 1, "failed"), report("a", 2)]
    full = render_report(OWNER, reports, status=status())["data"]
    size = sum(len(k) + len(v) for k, v in full.items())
    cut = render_report(OWNER, reports, status=status(), limit=size - 1)["data"]
    assert "junitXml" not in json.loads(cut["a.a1.json"])
    assert "a.a1.json" in cut  # earlier attempts survive this step
    assert "the pytest XML inside each report" in cut[TRUNCATED_KEY]
    assert "900" not in cut[TRUNCATED_KEY]


def test_a_huge_run_is_cut_down_step_by_step_and_says_so() -> None:
    failures = [{"test": f"t{i}", "message": "x" * 5000} for i in range(200)]
    reports = [
        report("a", 1, "failed", failures=failures),
        report("a", 2, "failed", failures=failures),
    ]
    cm = render_report(OWNER, reports, status=status(), limit=64 * 1024)
    data = cm["data"]
    assert sum(len(k) + len(v.encode()) for k, v in data.items()) <= 64 * 1024
    note = data[TRUNCATED_KEY]
    assert "earlier attempts" in note
    assert "failures beyond 20" in note
    kept = json.loads(data["a.a2.json"])
    assert len(kept["failures"]) == 21
    assert kept["failures"][-1]["message"] == "180 more failure(s) left out"
    assert "a.a1.json" not in data
    assert JUNIT_KEY in data


def test_when_nothing_else_helps_whole_reports_go() -> None:
    reports = [report("a", metrics={"blob": "y" * 200_000}), report("b")]
    data = render_report(OWNER, reports, limit=2048)["data"]
    assert "b.a1.json" in data
    assert "a.a1.json" not in data
    assert "whole reports: a.a1.json" in data[TRUNCATED_KEY]
    assert report_key("a", 1) == "a.a1.json"

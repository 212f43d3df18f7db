"""JUnit XML for a run: one testsuite per suite, pytest reports merged, other outcomes visible."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from cqltest.engine import aggregate_status
from cqltest.model import SuiteResult
from cqltest.render.junit import render_junit
from engine_sim import T0, done, make_spec, observed, result, running

PYTEST_XML = """<?xml version="1.0" encoding="utf-8"?>
<testsuites name="pytest tests"><testsuite name="pytest" errors="0" failures="1" skipped="1"
 tests="3" time="0.4"><testcase classname="test_crud" name="test_insert" time="0.1"/>
<testcase classname="test_crud" name="test_update" time="0.2"><failure message="AssertionError:
 boom">Traceback...</failure></testcase><testcase classname="test_crud" name="test_skip" time="0">
<skipped message="not today"/></testcase></testsuite></testsuites>"""


def render(spec_suites, attempts, results=None, **spec_fields):  # type: ignore[no-untyped-def]
    spec = make_spec(spec_suites, **spec_fields)
    status = aggregate_status(spec, observed(attempts=attempts), T0)
    return ET.fromstring(render_junit("nightly", status, results or {}))


def suite(root: ET.Element, name: str) -> ET.Element:
    found = root.find(f"testsuite[@name='{name}']")
    assert found is not None, name
    return found


def counts(element: ET.Element) -> tuple[str | None, ...]:
    return tuple(element.get(k) for k in ("tests", "failures", "errors", "skipped"))


def test_pytest_cases_are_merged_under_the_suite_name() -> None:
    res = result("crud", outcome="failed", junitXml=PYTEST_XML)
    root = render([{"name": "crud"}], {"crud": [done("Failed", res=res)]}, {"crud": res})
    crud = suite(root, "crud")
    assert counts(crud) == ("3", "1", "0", "1")
    names = [c.get("name") for c in crud.iter("testcase")]
    assert names == ["test_insert", "test_update", "test_skip"]
    failure = crud.find("testcase[@name='test_update']/failure")
    assert failure is not None
    assert failure.text == "Traceback..."
    props = {p.get("name"): p.get("value") for p in crud.iter("property")}
    assert props["cqltest.phase"] == "Failed"
    assert props["cqltest.attempts"] == "1"
    assert root.get("name") == "nightly"
    assert counts(root) == ("3", "1", "0", "1")


def test_skipped_suites_carry_the_reason() -> None:
    root = render(
        [{"name": "a"}, {"name": "b", "dependsOn": ["a"]}],
        {"a": [done("Failed")]},
    )
    b = suite(root, "b")
    assert counts(b) == ("1", "0", "0", "1")
    skipped = b.find("testcase/skipped")
    assert skipped is not None
    assert skipped.get("message") == "dependency a Failed"


def test_failed_suite_without_report_lists_its_failures() -> None:
    res = result("a", outcome="failed", failures=[{"test": "t::x", "message": "boom"}])
    root = render([{"name": "a"}], {"a": [done("Failed", res=res)]}, {"a": res})
    a = suite(root, "a")
    assert counts(a) == ("1", "1", "0", "0")
    case = a.find("testcase")
    assert case is not None
    assert case.get("name") == "t::x"


def test_failed_suite_without_any_failing_case_still_fails() -> None:
    res = result(
        "a",
        outcome="failed",
        junitXml=PYTEST_XML.replace('failures="1"', 'failures="0"').replace(
            '<failure message="AssertionError:\n boom">Traceback...</failure>', ""
        ),
    )
    root = render(
        [{"name": "a"}], {"a": [done("Failed", res=res, reason="exit code 3")]}, {"a": res}
    )
    a = suite(root, "a")
    assert a.get("failures") == "1"
    failure = a.find("testcase[@name='a']/failure")
    assert failure is not None
    assert failure.get("message") == "exit code 3"


def test_timed_out_and_error_suites_are_errors() -> None:
    root = render(
        [{"name": "t"}, {"name": "e"}],
        {"t": [done("TimedOut", reason="attempt 1 exceeded its timeout 5m")], "e": [done("Error")]},
        parallelism=2,
    )
    t_error = suite(root, "t").find("testcase/error")
    assert t_error is not None
    assert (t_error.get("type"), t_error.get("message")) == (
        "TimedOut",
        "attempt 1 exceeded its timeout 5m",
    )
    assert counts(suite(root, "e")) == ("1", "0", "1", "0")


def test_passed_suite_without_report_is_one_passing_case() -> None:
    root = render([{"name": "a"}], {"a": [done()]})
    assert counts(suite(root, "a")) == ("1", "0", "0", "0")


def test_thresholds_are_a_test_case() -> None:
    res = result("a", metrics={"latencyMs": {"p99": 80.0}}, junitXml=PYTEST_XML)
    root = render(
        [{"name": "a", "thresholds": {"p99LatencyMs": 50}}], {"a": [done(res=res)]}, {"a": res}
    )
    case = suite(root, "a").find("testcase[@name='thresholds']")
    assert case is not None
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == "threshold breached: p99LatencyMs 80 > limit 50"
    assert failure.text == "p99LatencyMs: 80 (limit 50) BREACHED"


def test_met_thresholds_pass() -> None:
    res = result("a", metrics={"latencyMs": {"p99": 8.0}})
    root = render(
        [{"name": "a", "thresholds": {"p99LatencyMs": 50}}], {"a": [done(res=res)]}, {"a": res}
    )
    a = suite(root, "a")
    assert counts(a) == ("2", "0", "0", "0")
    out = a.find("testcase[@name='thresholds']/system-out")
    assert out is not None
    assert out.text == "p99LatencyMs: 8 (limit 50) ok"


def test_unfinished_suites_are_skipped() -> None:
    root = render([{"name": "a"}], {"a": [running()]})
    skipped = suite(root, "a").find("testcase/skipped")
    assert skipped is not None
    assert skipped.get("message") == "not finished (Running)"


def test_an_unreadable_report_is_an_error_case() -> None:
    res = SuiteResult(suite="a", attempt=1, outcome="passed", junit_xml="<testsuites><oops>")
    root = render([{"name": "a"}], {"a": [done(res=res)]}, {"a": res})
    error = suite(root, "a").find("testcase/error")
    assert error is not None
    assert error.get("message", "").startswith("unreadable JUnit XML")


def test_output_is_an_xml_document() -> None:
    spec = make_spec([{"name": "a"}])
    status = aggregate_status(spec, observed(attempts={"a": [done()]}), T0)
    text = render_junit("nightly", status, {})
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>\n<testsuites')

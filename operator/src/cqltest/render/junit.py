"""JUnit XML for a whole run: one ``<testsuite>`` per TestRun suite.

CI systems read JUnit, so every suite shows up, even those that produced no pytest report:
a Skipped suite becomes one skipped test case carrying the reason, a TimedOut or Error suite one
error case, a breached threshold a failed ``thresholds`` case. Suites that ran keep the test cases
of their own pytest JUnit report (SuiteResult.junitXml), re-homed under the suite's name.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping

from cqltest.model import SuiteResult, SuiteStatus, TestRun, TestRunStatus

_CLASSNAME = "cqltest"


def _case(name: str, classname: str, time: float = 0.0) -> ET.Element:
    return ET.Element("testcase", {"classname": classname, "name": name, "time": f"{time:.3f}"})


def _with_child(case: ET.Element, tag: str, message: str, kind: str | None = None) -> ET.Element:
    child = ET.SubElement(case, tag, {"message": message})
    if kind is not None:
        child.set("type", kind)
    if tag != "skipped":
        child.text = message
    return case


def _pytest_cases(junit_xml: str | None, suite: str) -> list[ET.Element]:
    """The test cases of a suite's own pytest report; an unreadable report is an error case."""
    if not junit_xml or not junit_xml.strip():
        return []
    try:
        root = ET.fromstring(junit_xml)
    except ET.ParseError as exc:
        case = _case("junit-report", f"{_CLASSNAME}.{suite}")
        return [_with_child(case, "error", f"unreadable JUnit XML: {exc}", "ParseError")]
    return list(root.iter("testcase"))


def _synthetic_cases(suite: SuiteStatus, has_cases: bool) -> list[ET.Element]:
    """Cases that represent what the pytest report cannot: skips, timeouts, errors, thresholds."""
    classname = f"{_CLASSNAME}.{suite.name}"
    reason = suite.reason or suite.phase
    seconds = suite.duration_seconds or 0.0
    cases: list[ET.Element] = []
    if suite.phase == "Skipped":
        cases.append(_with_child(_case(suite.name, classname), "skipped", reason))
    elif suite.phase in ("Pending", "Running"):
        cases.append(
            _with_child(_case(suite.name, classname), "skipped", f"not finished ({suite.phase})")
        )
    elif suite.phase in ("TimedOut", "Error"):
        case = _case(suite.name, classname, seconds)
        cases.append(_with_child(case, "error", reason, suite.phase))
    elif suite.phase == "Failed" and not has_cases:
        for failure in suite.failures:
            case = _case(failure.test, classname)
            cases.append(_with_child(case, "failure", failure.message or "failed", "Failed"))
    elif suite.phase == "Passed" and not has_cases:
        cases.append(_case(suite.name, classname, seconds))
    if suite.thresholds:
        case = _case("thresholds", classname)
        lines = [
            f"{t.metric}: {'n/a' if t.value is None else f'{t.value:g}'} "
            f"(limit {t.limit:g}) {'ok' if t.ok else 'BREACHED'}"
            for t in suite.thresholds
        ]
        if all(t.ok for t in suite.thresholds):
            ET.SubElement(case, "system-out").text = "\n".join(lines)
        else:
            breach = ET.SubElement(case, "failure", {"message": reason})
            breach.set("type", "ThresholdBreached")
            breach.text = "\n".join(lines)
        cases.append(case)
    return cases


def _count(cases: list[ET.Element], tag: str) -> int:
    return sum(1 for c in cases if c.find(tag) is not None)


def _testsuite(suite: SuiteStatus, result: SuiteResult | None) -> ET.Element:
    own = _pytest_cases(result.junit_xml if result else None, suite.name)
    cases = own + _synthetic_cases(suite, has_cases=bool(own))
    if suite.phase == "Failed" and not (_count(cases, "failure") or _count(cases, "error")):
        # The suite failed without a failing test case (a crash, a non-zero exit): say so.
        case = _case(suite.name, f"{_CLASSNAME}.{suite.name}", suite.duration_seconds or 0.0)
        cases.append(_with_child(case, "failure", suite.reason or "failed", "Failed"))
    element = ET.Element(
        "testsuite",
        {
            "name": suite.name,
            "tests": str(len(cases)),
            "failures": str(_count(cases, "failure")),
            "errors": str(_count(cases, "error")),
            "skipped": str(_count(cases, "skipped")),
            "time": f"{suite.duration_seconds or 0.0:.3f}",
        },
    )
    if suite.started_at is not None:
        element.set("timestamp", suite.started_at.isoformat())
    properties = ET.SubElement(element, "properties")
    facts = {"phase": suite.phase, "attempts": str(suite.attempts), "wave": str(suite.wave)}
    if suite.reason:
        facts["reason"] = suite.reason
    for key, value in facts.items():
        ET.SubElement(properties, "property", {"name": f"cqltest.{key}", "value": value})
    element.extend(cases)
    return element


def render_junit(
    run: TestRun | str, status: TestRunStatus, results: Mapping[str, SuiteResult | None]
) -> str:
    """The run's JUnit XML; ``results`` maps a suite to the result of its latest attempt."""
    run_name = run if isinstance(run, str) else run.name
    suites = [_testsuite(s, results.get(s.name)) for s in status.suites]
    totals = {
        key: str(sum(int(s.get(key, "0")) for s in suites))
        for key in ("tests", "failures", "errors", "skipped")
    }
    seconds = sum(float(s.get("time", "0")) for s in suites)
    root = ET.Element("testsuites", {"name": run_name, **totals, "time": f"{seconds:.3f}"})
    root.extend(suites)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="utf-8"?>\n{body}\n'

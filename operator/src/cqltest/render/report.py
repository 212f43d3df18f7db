"""The report ConfigMap ``<run>-report``: every attempt's full SuiteResult and the run's JUnit.

A pod's termination message holds only a compact summary; the full report (with the pytest
JUnit XML) comes from the pod log, and this is where the operator keeps it, owned by the
TestRun, for ``cqltest submit --junit`` and for people. A ConfigMap holds at most 1 MiB, so the
content is capped at :data:`REPORT_LIMIT` and, when it would not fit, cut in this order, each
cut said in the ``TRUNCATED`` key: the pytest XML inside the per-attempt JSON (``junit.xml``
keeps the latest attempt's cases), older attempts, the pytest cases in ``junit.xml``, long
failure lists and messages, and at last the largest reports themselves.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from cqltest.engine.names import LABEL_COMPONENT, LABEL_TESTRUN, label_value, report_name
from cqltest.model import SuiteResult, TestRunStatus
from cqltest.render.junit import render_junit
from cqltest.render.pods import Owner

REPORT_LIMIT = 900 * 1024
JUNIT_KEY = "junit.xml"
TRUNCATED_KEY = "TRUNCATED"
_FAILURES_KEPT = 20
_MESSAGE_KEPT = 500

Report = Mapping[str, Any]
"""A full SuiteResult document as the suite printed it (camelCase JSON object)."""


def report_key(suite: str, attempt: int) -> str:
    """The ConfigMap key of one attempt's report: ``<suite>.a<attempt>.json``."""
    return f"{suite}.a{attempt}.json"


def render_report(
    owner: Owner,
    reports: Iterable[Report],
    *,
    status: TestRunStatus | None = None,
    limit: int = REPORT_LIMIT,
) -> dict[str, Any]:
    """The ConfigMap; with ``status``, also the run's JUnit XML (suites from the status)."""
    docs = {key: dict(r) for r in reports if (key := _key(r)) is not None}
    latest = _latest(docs)
    cuts: list[str] = []

    def junit(with_cases: bool) -> dict[str, str]:
        if status is None:
            return {}
        results = {}
        for suite, key in latest.items():
            result = _result(docs[key])
            if result is not None and not with_cases:
                result = result.model_copy(update={"junit_xml": None})
            results[suite] = result
        return {JUNIT_KEY: render_junit(owner.name, status, results)}

    def data() -> dict[str, str]:
        entries = {key: _encode(doc) for key, doc in sorted(docs.items())}
        return {**entries, **xml}

    xml = junit(with_cases=True)
    steps = [
        "the pytest XML inside each report (junit.xml keeps the latest attempt's cases)",
        "the reports of earlier attempts (each suite keeps its latest)",
        "the pytest test cases in junit.xml (suites keep their verdicts)",
        f"failures beyond {_FAILURES_KEPT} per report, messages beyond {_MESSAGE_KEPT} chars",
    ]
    for index, what in enumerate(steps):
        if _size(data()) <= limit:
            break
        cuts.append(what)
        if index == 0:
            docs = {k: _no_xml(d) for k, d in docs.items()}
        elif index == 1:
            docs = {k: d for k, d in docs.items() if k in latest.values()}
        elif index == 2:
            xml = junit(with_cases=False)
        else:
            docs = {k: _short_failures(d) for k, d in docs.items()}
    dropped = []
    while _size(data()) > limit and docs:
        biggest = max(docs, key=lambda k: len(_encode(docs[k])))
        dropped.append(biggest)
        del docs[biggest]
    if dropped:
        cuts.append("whole reports: " + ", ".join(sorted(dropped)))
    content = data()
    if cuts:
        content[TRUNCATED_KEY] = (
            f"This report was cut to fit in a ConfigMap ({limit // 1024} KiB). Left out: "
            + "; ".join(cuts)
            + ". The pod logs hold every report in full while the Jobs exist.\n"
        )
    labels = {LABEL_TESTRUN: label_value(owner.name), LABEL_COMPONENT: "report"}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": owner.metadata(report_name(owner.name), labels),
        "data": content,
    }


def report_results(data: Mapping[str, str]) -> dict[str, SuiteResult]:
    """The latest attempt's SuiteResult per suite from a report ConfigMap's ``data``."""
    docs: dict[str, dict[str, Any]] = {}
    for key, text in data.items():
        if not key.endswith(".json"):
            continue
        try:
            doc = json.loads(text)
        except json.JSONDecodeError:
            continue
        if isinstance(doc, dict) and _key(doc) == key:
            docs[key] = doc
    results = {}
    for suite, key in _latest(docs).items():
        result = _result(docs[key])
        if result is not None:
            results[suite] = result
    return results


def _key(report: Report) -> str | None:
    suite, attempt = report.get("suite"), report.get("attempt")
    if not isinstance(suite, str) or not isinstance(attempt, int) or attempt < 1:
        return None
    return report_key(suite, attempt)


def _latest(docs: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Suite -> the key of its highest attempt."""
    best: dict[str, tuple[int, str]] = {}
    for key, doc in docs.items():
        suite, attempt = doc["suite"], doc["attempt"]
        if suite not in best or best[suite][0] < attempt:
            best[suite] = (attempt, key)
    return {suite: key for suite, (_, key) in best.items()}


def _result(doc: Mapping[str, Any]) -> SuiteResult | None:
    try:
        return SuiteResult.model_validate(doc)
    except ValidationError:
        return None


def _no_xml(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "junitXml"}


def _short_failures(doc: dict[str, Any]) -> dict[str, Any]:
    failures = doc.get("failures")
    if not isinstance(failures, list):
        return doc
    kept = [
        {**f, "message": str(f.get("message", ""))[:_MESSAGE_KEPT]}
        for f in failures[:_FAILURES_KEPT]
        if isinstance(f, dict)
    ]
    if len(failures) > _FAILURES_KEPT:
        more = len(failures) - _FAILURES_KEPT
        kept.append({"test": "…", "message": f"{more} more failure(s) left out"})
    return {**doc, "failures": kept}


def _encode(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def _size(data: Mapping[str, str]) -> int:
    return sum(len(k.encode()) + len(v.encode()) for k, v in data.items())

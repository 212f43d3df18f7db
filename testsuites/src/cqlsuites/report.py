"""The SuiteResult document (contracts §2) and its two pod encodings.

Locally the full document goes to a file. In a pod, Kubernetes keeps at most 4 KiB of a
container's termination message, so the operator gets a compact summary there that is
*guaranteed* to fit (failures are trimmed, never the counts), and the full report (with the JUnit
XML) on stdout between markers, which it reads from the pod log. Pure functions, no I/O.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

TERMINATION_LIMIT = 4096
REPORT_BEGIN = "----- CQLTEST SUITE REPORT BEGIN -----"
REPORT_END = "----- CQLTEST SUITE REPORT END -----"
# A failure message longer than this is noise in a status document; the JUnit XML keeps it all.
MESSAGE_LIMIT = 2000


@dataclass
class TestCounts:
    """Per-test outcomes, each test counted exactly once."""

    __test__ = False  # not a pytest test class despite its name

    total: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errors: int = 0


def iso(ts: datetime) -> str:
    """RFC 3339 UTC with a Z, the timestamp format of every cqltest document."""
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def suite_result(
    *,
    suite: str,
    attempt: int,
    outcome: str,
    started_at: datetime,
    finished_at: datetime,
    tests: TestCounts,
    failures: list[dict[str, str]],
    metrics: dict[str, Any],
    junit_xml: str,
) -> dict[str, Any]:
    """Assemble the SuiteResult JSON object exactly as contracts §2 spells it."""
    return {
        "suite": suite,
        "attempt": attempt,
        "outcome": outcome,
        "startedAt": iso(started_at),
        "finishedAt": iso(finished_at),
        "durationSeconds": round((finished_at - started_at).total_seconds(), 3),
        "tests": asdict(tests),
        "failures": [
            {"test": f["test"], "message": truncate(f["message"], MESSAGE_LIMIT)} for f in failures
        ],
        "metrics": metrics,
        "junitXml": junit_xml,
    }


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, marking the cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 14)] + " …[truncated]"


def _encode(doc: dict[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def _size(doc: dict[str, Any]) -> int:
    return len(_encode(doc).encode("utf-8"))


def compact_summary(result: dict[str, Any], limit: int = TERMINATION_LIMIT) -> str:
    """The SuiteResult without JUnit XML, shrunk until its UTF-8 encoding fits in ``limit`` bytes.

    Shrinking order keeps what the engine decides on (outcome, counts, metrics) and gives up
    detail first: long messages, then failures beyond the first few (replaced by one entry that
    says how many were dropped), then error kinds, then the metrics detail.
    """
    doc = {k: v for k, v in result.items() if k != "junitXml"}
    failures: list[dict[str, str]] = list(doc.get("failures", []))
    for message_limit in (500, 200, 80):
        if _size(doc) <= limit:
            return _encode(doc)
        failures = [
            {"test": truncate(f["test"], 200), "message": truncate(f["message"], message_limit)}
            for f in failures
        ]
        doc["failures"] = failures
    total = len(failures)
    while failures and _size(doc) > limit:
        failures = failures[:-1]
        dropped = total - len(failures)
        doc["failures"] = [
            *failures,
            {"test": "…", "message": f"{dropped} more failure(s) omitted; see the full report"},
        ]
    if _size(doc) > limit:
        doc["failures"] = []
    metrics = doc.get("metrics")
    if _size(doc) > limit and isinstance(metrics, dict):
        doc["metrics"] = {**metrics, "errorsByKind": {}}
    if _size(doc) > limit:
        doc.pop("metrics", None)
    if _size(doc) > limit:
        # Only absurdly long suite names get here; the counts still make it out.
        doc = {
            "suite": truncate(str(doc["suite"]), 200),
            "attempt": doc["attempt"],
            "outcome": doc["outcome"],
            "tests": doc["tests"],
        }
    return _encode(doc)


def full_report_block(result: dict[str, Any]) -> str:
    """The full SuiteResult as one JSON line between markers, for a pod's stdout."""
    return f"{REPORT_BEGIN}\n{_encode(result)}\n{REPORT_END}\n"


def extract_report(log: str) -> dict[str, Any] | None:
    """The last full report printed in a pod log, or None if there is none (or it was cut)."""
    end = log.rfind(REPORT_END)
    if end < 0:
        return None
    begin = log.rfind(REPORT_BEGIN, 0, end)
    if begin < 0:
        return None
    body = log[begin + len(REPORT_BEGIN) : end].strip()
    try:
        doc = json.loads(body)
    except json.JSONDecodeError:
        return None
    return doc if isinstance(doc, dict) else None

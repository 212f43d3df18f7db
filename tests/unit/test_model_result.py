"""SuiteResult parses the contract document (contracts.md §2) exactly."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from cqltest.model import SuiteResult
from pydantic import ValidationError

CONTRACT = """
{"suite": "smoke", "attempt": 1, "outcome": "passed",
 "startedAt": "2026-11-23T09:00:00Z", "finishedAt": "2026-11-23T09:00:03.2Z",
 "durationSeconds": 3.2,
 "tests": {"total": 5, "passed": 5, "failed": 0, "skipped": 0, "errors": 0},
 "failures": [{"test": "test_crud.py::test_x", "message": "AssertionError: ..."}],
 "metrics": {"operations": 1234, "opsPerSecond": 400.0, "errorRate": 0.0,
             "latencyMs": {"p50": 0.8, "p95": 2.1, "p99": 3.5, "max": 9.0},
             "errorsByKind": {"WriteTimeout": 0}},
 "junitXml": "<?xml version='1.0'?><testsuites/>"}
"""


def test_the_contract_example_parses() -> None:
    res = SuiteResult.model_validate_json(CONTRACT)
    assert res.suite == "smoke"
    assert res.attempt == 1
    assert res.outcome == "passed"
    assert res.started_at == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert res.duration_seconds == 3.2
    assert res.tests.total == 5
    assert res.failures[0].test == "test_crud.py::test_x"
    assert res.metrics.operations == 1234
    assert res.metrics.ops_per_second == 400.0
    assert res.metrics.error_rate == 0.0
    assert res.metrics.latency_ms is not None
    assert res.metrics.latency_ms.p99 == 3.5
    assert res.metrics.errors_by_kind == {"WriteTimeout": 0}
    assert res.junit_xml is not None
    assert res.junit_xml.startswith("<?xml")


def test_it_round_trips_in_camel_case() -> None:
    res = SuiteResult.model_validate_json(CONTRACT)
    again = SuiteResult.model_validate(res.model_dump(mode="json", by_alias=True))
    assert again == res
    assert set(json.loads(res.model_dump_json(by_alias=True))) >= {"startedAt", "junitXml"}


def test_a_minimal_result_gets_empty_counts_and_metrics() -> None:
    res = SuiteResult.model_validate({"suite": "s", "attempt": 2, "outcome": "error"})
    assert res.tests.total == 0
    assert res.metrics.latency_ms is None
    assert res.failures == []
    assert res.junit_xml is None


def test_fields_added_by_newer_writers_are_ignored() -> None:
    data = json.loads(CONTRACT)
    data["shard"] = 3
    data["metrics"]["newMetric"] = 1
    assert SuiteResult.model_validate(data).suite == "smoke"


@pytest.mark.parametrize(
    ("field", "value"),
    [("outcome", "skipped"), ("attempt", 0), ("suite", None), ("durationSeconds", -1)],
)
def test_invalid_values_are_rejected(field: str, value: object) -> None:
    data = json.loads(CONTRACT)
    data[field] = value
    with pytest.raises(ValidationError, match=field):
        SuiteResult.model_validate(data)

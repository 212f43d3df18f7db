"""The TestRun models: field names, defaults, durations, names, serialization."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cqltest.model import (
    Datacenter,
    SuiteSpec,
    TestRun,
    TestRunSpec,
    format_duration,
    parse_duration,
)
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

MINIMAL = {
    "apiVersion": "cqltest.dev/v1alpha1",
    "kind": "TestRun",
    "metadata": {"name": "smoke"},
    "spec": {"cluster": {"datacenters": [{"name": "dc1", "size": 1}]}, "suites": [{"name": "a"}]},
}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("15m", 900),
        ("2h", 7200),
        ("1h30m", 5400),
        ("1h30m15s", 5415),
        ("1h15s", 3615),
        ("10m5s", 605),
        ("0s", 0),
        ("120m", 7200),
    ],
)
def test_durations_parse(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "text", ["", "10", "10 minutes", "1.5h", "30m1h", "1d", "-5s", "5S", "1h 30m", "m", 90]
)
def test_malformed_durations_are_rejected_with_the_rule(text: object) -> None:
    with pytest.raises(ValueError, match="is not a duration such as 90s, 15m, 2h or 1h30m"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (90, "1m30s"), (3600, "1h"), (5415, "1h30m15s"), (61, "1m1s")]
)
def test_durations_format_canonically(seconds: int, text: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == text


@given(st.integers(min_value=0, max_value=10**7))
def test_durations_round_trip(seconds: int) -> None:
    assert parse_duration(format_duration(timedelta(seconds=seconds))).total_seconds() == seconds


def test_defaults() -> None:
    run = TestRun.model_validate(MINIMAL)
    spec = run.spec
    assert run.name == "smoke"
    assert spec.parallelism == 1
    assert spec.fail_fast is False
    assert spec.timeout is None
    assert spec.cluster.teardown == "Always"
    assert spec.cluster.ready_timeout == timedelta(minutes=30)
    assert spec.cluster.security.authentication is False
    assert spec.cluster.security.tls.client is False
    suite = spec.suites[0]
    assert suite.timeout == timedelta(minutes=30)
    assert suite.retries == 0
    assert suite.depends_on == []
    assert suite.params == {}
    assert suite.builtin_suite == "a"


def test_camel_case_on_the_wire_snake_case_in_python() -> None:
    data = {
        "cluster": {
            "datacenters": [{"name": "dc1", "size": 3, "replicationFactor": 2}],
            "readyTimeout": "5m",
        },
        "failFast": True,
        "suites": [{"name": "a", "dependsOn": [], "thresholds": {"p99LatencyMs": 5}}],
    }
    spec = TestRunSpec.model_validate(data)
    assert spec.fail_fast is True
    assert spec.cluster.datacenters[0].replication_factor == 2
    assert spec.suites[0].thresholds is not None
    assert spec.suites[0].thresholds.p99_latency_ms == 5
    dumped = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert dumped["failFast"] is True
    assert dumped["cluster"]["readyTimeout"] == "5m"
    assert dumped["suites"][0]["timeout"] == "30m"
    assert TestRunSpec.model_validate(dumped) == spec


def test_python_names_are_accepted_too() -> None:
    spec = SuiteSpec(name="a", depends_on=["b"], retries=1)
    assert spec.depends_on == ["b"]


@pytest.mark.parametrize(("size", "rf"), [(1, 1), (2, 2), (3, 3), (5, 3), (9, 3)])
def test_replication_factor_defaults_to_min_3_size(size: int, rf: int) -> None:
    assert Datacenter(name="dc1", size=size).effective_replication_factor == rf


def test_explicit_replication_factor_wins() -> None:
    assert Datacenter(name="dc1", size=5, replicationFactor=5).effective_replication_factor == 5


@pytest.mark.parametrize(
    ("fields", "builtin"),
    [
        ({"name": "a"}, "a"),
        ({"name": "a", "suite": "smoke"}, "smoke"),
        ({"name": "a", "path": "x"}, None),
        ({"name": "a", "command": ["pytest"]}, None),
        ({"name": "a", "image": "img"}, "a"),
    ],
)
def test_builtin_suite(fields: dict[str, object], builtin: str | None) -> None:
    assert SuiteSpec.model_validate(fields).builtin_suite == builtin


@pytest.mark.parametrize("name", ["a", "smoke-1", "x" * 63, "0abc"])
def test_valid_names(name: str) -> None:
    assert SuiteSpec(name=name).name == name


@pytest.mark.parametrize("name", ["", "A", "-a", "a-", "a_b", "a.b", "x" * 64])
def test_invalid_names_state_the_rule(name: str) -> None:
    with pytest.raises(ValidationError, match="DNS-1123 label"):
        SuiteSpec(name=name)


def test_models_are_frozen() -> None:
    suite = SuiteSpec(name="a")
    with pytest.raises(ValidationError):
        suite.name = "b"  # type: ignore[misc]


def test_metadata_keeps_apiserver_fields() -> None:
    data = {**MINIMAL, "metadata": {"name": "x", "uid": "123", "generation": 4}}
    run = TestRun.model_validate(data)
    assert run.metadata.generation == 4
    assert run.metadata.model_extra == {"uid": "123"}

"""suite.yaml parsing and params resolution (cqlsuites.catalogue), and every shipped suite.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cqlsuites.__main__ import builtin_suites
from cqlsuites.catalogue import (
    MARKERS,
    CatalogueError,
    parse_duration,
    parse_suite,
    read_catalogue,
    read_suite,
)

DOC: dict[str, Any] = {
    "name": "data-types",
    "description": "Every CQL type round-trips.",
    "markers": ["slow"],
    "needs": {"nodes": 1, "datacenters": 1, "authentication": False, "tls": False},
    "timeout": "5m",
    "params": {
        "blobBytes": {"type": "integer", "default": 1048576, "description": "Largest blob."},
        "ratio": {"type": "number", "default": 0.5, "description": "A ratio."},
        "wait": {"type": "duration", "default": "30s", "description": "A wait."},
        "check": {"type": "boolean", "default": True, "description": "Check."},
        "consistency": {
            "type": "string",
            "default": "LOCAL_QUORUM",
            "description": "Level.",
            "choices": ["ONE", "LOCAL_QUORUM"],
        },
    },
}


def test_every_shipped_suite_has_a_valid_suite_yaml() -> None:
    catalogue = read_catalogue()
    assert sorted(catalogue) == builtin_suites(), "a suite directory lacks its suite.yaml"
    for info in catalogue.values():
        assert set(info.markers) <= set(MARKERS)
        assert info.timeout_seconds > 0
        info.resolve({})  # every default is valid for its type


def test_defaults_merged_and_types_coerced() -> None:
    info = parse_suite(DOC, "suite.yaml")
    assert info.timeout_seconds == 300
    params = info.resolve({"ratio": 1, "wait": "1m30s", "blobBytes": 10.0})
    assert params == {
        "blobBytes": 10,
        "ratio": 1.0,
        "wait": 90.0,
        "check": True,
        "consistency": "LOCAL_QUORUM",
    }
    assert isinstance(params["ratio"], float)
    assert isinstance(params["blobBytes"], int)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"blobBytse": 1}, 'no param "blobBytse" (accepted params: blobBytes, check,'),
        ({"blobBytes": "big"}, "param \"blobBytes\" = 'big' is not an integer (got str)"),
        ({"blobBytes": True}, "is not an integer (got bool)"),
        ({"ratio": "x"}, "is not a number"),
        ({"wait": "soon"}, "is not a duration such as 500ms, 30s"),
        ({"check": "yes"}, "is not a boolean"),
        ({"consistency": "TWO"}, "is not one of: ONE, LOCAL_QUORUM"),
    ],
)
def test_bad_params_are_named(params: dict[str, Any], message: str) -> None:
    info = parse_suite(DOC, "suite.yaml")
    with pytest.raises(CatalogueError, match=None) as caught:
        info.resolve(params)
    assert message in str(caught.value)
    assert 'suite "data-types"' in str(caught.value)


def test_every_bad_param_reported_at_once() -> None:
    problems = parse_suite(DOC, "s").problems({"nope": 1, "ratio": "x", "check": False})
    assert [name for name, _, _ in problems] == ["nope", "ratio"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"markers": ["fast"]}, "markers=['fast'] must be a list of: slow, destructive"),
        ({"timeout": "forever"}, "timeout 'forever' is not a duration"),
        ({"needs": {"nodes": 0}}, "needs.nodes=0 must be a positive integer"),
        ({"needs": {"racks": 2}}, "needs must be a mapping of nodes, datacenters"),
        ({"params": {"x": {"type": "list", "default": [], "description": "d"}}}, "params.x.type"),
        ({"params": {"x": {"type": "integer", "default": "1", "description": "d"}}}, "default"),
        ({"params": {"x": {"type": "integer", "default": 1}}}, "params.x.description"),
        ({"description": "two\nlines"}, "description must be one non-empty line"),
        ({"owner": "me"}, "unknown field 'owner'"),
    ],
)
def test_bad_suite_yaml_is_named(change: dict[str, Any], message: str) -> None:
    with pytest.raises(CatalogueError) as caught:
        parse_suite({**DOC, **change}, "suites/x/suite.yaml")
    assert "suites/x/suite.yaml" in str(caught.value)
    assert message in str(caught.value)


def test_read_suite_checks_name_matches_directory(tmp_path: Path) -> None:
    directory = tmp_path / "data_types"
    directory.mkdir()
    assert read_suite(directory) is None
    (directory / "suite.yaml").write_text("name: datatypes\ndescription: d\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="must be 'data-types'"):
        read_suite(directory)


@pytest.mark.parametrize(
    ("text", "seconds"), [("500ms", 0.5), ("30s", 30), ("2m", 120), ("1h30m", 5400), (7, 7.0)]
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds
